package heuristics

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// Stuck I/O: threads blocked reading, writing or polling a socket that has
// no timeout. If the peer never answers they wait forever; nothing in the
// process can end the wait. A socket with a timeout is not stuck (it polls
// with that timeout first), nor is a server waiting for clients: accept()
// on any socket, or a poll of a listening one.

// Socket operations of a stuck thread.
const (
	OpRead  = "read"
	OpWrite = "write"
	OpPoll  = "poll"
)

// ioOps classifies the system calls a thread can be stuck in on a socket.
var ioOps = map[string]string{
	"read": OpRead, "recvfrom": OpRead, "recvmsg": OpRead, "readv": OpRead, "pread64": OpRead,
	"write": OpWrite, "sendto": OpWrite,
	"poll": OpPoll, "ppoll": OpPoll, "select": OpPoll, "pselect6": OpPoll,
}

// StuckIODetails lists the threads stuck on sockets, the pools they belong
// to, and the threads that wait for them.
type StuckIODetails struct {
	Stuck []StuckThread `json:"stuck"`
	// Pools are the concurrent.futures thread pools with stuck workers.
	Pools []Pool `json:"pools,omitempty"`
	// Dependents wait only for stuck threads (their futures, a join): a
	// consequence, not a problem of their own.
	Dependents []ThreadWait `json:"dependents,omitempty"`
}

// StuckThread is one thread blocked on a socket with no timeout.
type StuckThread struct {
	// ThreadWait names the socket; Frame is the thread's own frame that led
	// into the socket call.
	ThreadWait
	Op      string `json:"op"` // read, write or poll
	Syscall string `json:"syscall"`
	FD      int    `json:"fd"`
	// Timeout is the Python socket's timeout in seconds; negative: none.
	// For a poll (the program's select() or poll() without a timeout) it
	// may be 0: a non-blocking socket.
	Timeout float64 `json:"timeout"`
	// Local, Peer and State are the kernel's view of the socket (live
	// targets only).
	Local string `json:"local,omitempty"`
	Peer  string `json:"peer,omitempty"`
	State string `json:"state,omitempty"`
	// URL is what the thread was fetching, from a local of URLFrame.
	URL      string `json:"url,omitempty"`
	URLLocal string `json:"url_local,omitempty"`
	URLFrame *int   `json:"url_frame,omitempty"`
}

// Pool is a ThreadPoolExecutor, known by its work queue.
type Pool struct {
	WorkQueue locks.Ref `json:"work_queue"`
	// Workers are the pool's threads (tids); Stuck how many are stuck.
	Workers []int `json:"workers"`
	Stuck   int   `json:"stuck"`
	// Waiting is the number of work items queued behind them; null when
	// unknown.
	Waiting *int `json:"waiting"`
}

func stuckIO(s *snapshot.Snapshot, a *locks.Analysis) (Finding, bool) {
	d := &StuckIODetails{}
	stuck := map[int]bool{}
	objs := []string{}
	for i := range s.Threads {
		t := &s.Threads[i]
		st, ok := stuckOnSocket(s, a, t)
		if !ok {
			continue
		}
		d.Stuck = append(d.Stuck, st)
		stuck[t.TID] = true
		objs = append(objs, st.Waits.ID)
	}
	if len(d.Stuck) == 0 {
		return Finding{}, false
	}
	f := Finding{Kind: StuckIO, Severity: Warning, Details: d}
	for _, st := range d.Stuck {
		f.Threads = append(f.Threads, st.Thread)
	}
	d.Pools = poolsOf(s, stuck)
	for _, p := range d.Pools {
		objs = append(objs, p.WorkQueue.ID)
	}
	d.Dependents = dependents(s, a, stuck, &f, &objs)
	f.Threads = sortedUnique(f.Threads)
	f.Objects = sortedUnique(objs)
	return f, true
}

// dependents are the waits of the threads that wait only for stuck threads
// (a lock one holds, a join): a consequence. Their threads and the objects
// they wait on join f's and objs.
func dependents(s *snapshot.Snapshot, a *locks.Analysis, stuck map[int]bool, f *Finding, objs *[]string) []ThreadWait {
	var out []ThreadWait
	for i := range s.Threads {
		t := &s.Threads[i]
		w := a.Waits[t.TID]
		if stuck[t.TID] || w == nil || len(w.On) == 0 {
			continue
		}
		all := true
		for _, tid := range w.On {
			all = all && stuck[tid]
		}
		if all {
			out = append(out, threadWait(a, t.TID))
			f.Threads = append(f.Threads, t.TID)
			*objs = append(*objs, w.ID)
		}
	}
	return out
}

// stuckOnSocket reports whether the thread waits, with no timeout, on a
// socket that is not a server's.
func stuckOnSocket(s *snapshot.Snapshot, a *locks.Analysis, t *snapshot.Thread) (StuckThread, bool) {
	w := a.Waits[t.TID]
	k := t.Kernel
	if w == nil || k == nil || w.Kind != snapshot.KindSocket || k.Timed || w.Timed() {
		return StuckThread{}, false
	}
	so := s.Objects[w.Object]
	op := ioOps[k.Syscall]
	if so == nil || so.Timeout == nil || so.FD == nil || op == "" {
		return StuckThread{}, false
	}
	// A socket with a timeout polls with it before each read or write
	// (k.Timed then). A poll without one is the program's own select() or
	// poll(), whatever the socket's timeout: a non-blocking socket's (0)
	// is no bound on it.
	if *so.Timeout >= 0 && op != OpPoll {
		return StuckThread{}, false
	}
	if so.Socket != nil && so.Socket.State == "LISTEN" {
		return StuckThread{}, false // a server waiting for clients
	}
	if so.Socket != nil && so.Socket.Pair {
		// The other half of a socketpair is the process's own: its
		// threads write to it, not a peer that may never answer.
		return StuckThread{}, false
	}
	if so.Family == "AF_UNIX" && (so.Socket == nil || so.Socket.Proto != "unix") {
		// Without the kernel's word on its peer (a core, another network
		// namespace) a UNIX socket may be half of a socketpair the
		// process's own threads write to: not claimed.
		return StuckThread{}, false
	}
	if op != OpWrite && handlesRequest(t) {
		// A socketserver handler (http.server's, xmlrpc's) reading its
		// client's next request, as a kept-alive connection does.
		return StuckThread{}, false
	}
	if op == OpPoll && !pollsConnectedOnly(s, k) {
		// Without the kernel's word (a core) a poll of a listening socket
		// cannot be told from a poll of a connected one; and a poll that
		// also waits on a pipe, an eventfd or another thread's socketpair
		// (a loop's wake-up) is ended by whoever writes to it.
		return StuckThread{}, false
	}
	st := StuckThread{ThreadWait: threadWait(a, t.TID), Op: op, Syscall: k.Syscall, FD: *so.FD, Timeout: *so.Timeout}
	if so.Socket != nil {
		st.Local, st.Peer, st.State = so.Socket.Local, so.Socket.Peer, so.Socket.State
	}
	if i, ok := urlFrame(t, st.Frame); ok {
		st.URLLocal, st.URL = pickURL(t.Frames[i].URLs)
		st.URLFrame = &i
	}
	return st, true
}

// pollsConnectedOnly tells a poll or select whose every descriptor is a
// Python socket the kernel shows connected to a peer (a TCP state, not
// LISTEN): only the peers can end it.
func pollsConnectedOnly(s *snapshot.Snapshot, k *snapshot.Kernel) bool {
	if len(k.FDs) == 0 || len(k.FDs) >= snapshot.MaxPollFDs {
		return false
	}
	for _, fd := range k.FDs {
		so := socketByFD(s, fd)
		if so == nil || so.Socket == nil || so.Socket.State == "" || so.Socket.State == "LISTEN" || so.Socket.Pair {
			return false
		}
	}
	return true
}

// socketByFD is the socket object whose descriptor is fd, or nil.
func socketByFD(s *snapshot.Snapshot, fd int) *snapshot.Object {
	for _, ob := range s.Objects {
		if ob.Kind == snapshot.KindSocket && ob.FD != nil && *ob.FD == fd {
			return ob
		}
	}
	return nil
}

// urlFrame finds the frame whose URL to show: the program's own (from the
// waiting frame outwards) before the library's.
func urlFrame(t *snapshot.Thread, own int) (int, bool) {
	for i := own; i < len(t.Frames); i++ {
		if len(t.Frames[i].URLs) > 0 {
			return i, true
		}
	}
	for i := 0; i < own && i < len(t.Frames); i++ {
		if len(t.Frames[i].URLs) > 0 {
			return i, true
		}
	}
	return 0, false
}

// pickURL prefers the local a person would call the URL.
func pickURL(u map[string]string) (name, url string) {
	for _, n := range []string{"url", "fullurl", "uri", "endpoint"} {
		if v, ok := u[n]; ok {
			return n, v
		}
	}
	names := make([]string, 0, len(u))
	for n := range u {
		names = append(names, n)
	}
	sort.Strings(names)
	return names[0], u[names[0]]
}

// poolOf returns the work queue of a concurrent.futures worker thread: the
// work_queue local of its _worker frame.
func poolOf(t *snapshot.Thread) string {
	for i := len(t.Frames) - 1; i >= 0; i-- {
		f := &t.Frames[i]
		if f.Function == "_worker" && filepath.Base(f.File) == "thread.py" && strings.Contains(f.File, "concurrent") {
			return f.Refs["work_queue"]
		}
	}
	return ""
}

// poolsOf gathers the pools that have stuck workers.
func poolsOf(s *snapshot.Snapshot, stuck map[int]bool) []Pool {
	byQueue := map[string]*Pool{}
	var order []string
	for i := range s.Threads {
		t := &s.Threads[i]
		q := poolOf(t)
		if q == "" || s.Objects[q] == nil {
			continue
		}
		p := byQueue[q]
		if p == nil {
			ob := s.Objects[q]
			p = &Pool{WorkQueue: locks.RefOf(ob), Waiting: ob.Len}
			byQueue[q] = p
			order = append(order, q)
		}
		p.Workers = append(p.Workers, t.TID)
		if stuck[t.TID] {
			p.Stuck++
		}
	}
	sort.Strings(order)
	var out []Pool
	for _, q := range order {
		if p := byQueue[q]; p.Stuck > 0 {
			sort.Ints(p.Workers)
			out = append(out, *p)
		}
	}
	return out
}

// handlesRequest reports whether the thread runs a socketserver request
// handler: its stack goes through BaseServer.finish_request, which every
// socketserver server (threading or not) calls for each connection; or,
// where a core lost the stack's outer frames, the thread is one that
// ThreadingMixIn started for a request (threading names it after its
// target since 3.10: "Thread-3 (process_request_thread)").
func handlesRequest(t *snapshot.Thread) bool {
	if t.StackLost && strings.HasSuffix(t.Name, " (process_request_thread)") {
		return true
	}
	for i := range t.Frames {
		f := &t.Frames[i]
		if f.Function == "finish_request" && strings.HasSuffix(filepath.ToSlash(f.File), "/socketserver.py") {
			return true
		}
	}
	return false
}
