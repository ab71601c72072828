package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// compareThreads checks the dump against the ready file thread by thread (matched by
// ident) and frame by frame, and returns how many frames matched. With cutOK a thread's
// stack may end early (the core lacks memory the outer frames need), but what is there
// must be the innermost frames, in order. qualname is compared on every version: before
// 3.11 there is no co_qualname and both the harness and pyhang give co_name. A thread
// that runs a subinterpreter must show that interpreter's frames first, then its own.
// Threads without a thread state are compared with expect.c_threads (compareCThreads).
func compareThreads(t testing.TB, got *snapshot.Snapshot, want ready, cutOK bool) (matched, cut int) {
	t.Helper()
	byIdent := map[uint64]*snapshot.Thread{}
	for i := range got.Threads {
		th := &got.Threads[i]
		if th.NoThreadState {
			continue
		}
		if byIdent[th.Ident] != nil {
			t.Errorf("ident %#x appears twice in the dump (tids %d and %d)", th.Ident, byIdent[th.Ident].TID, th.TID)
		}
		byIdent[th.Ident] = th
	}
	seen := map[uint64]bool{}
	for _, w := range want.Threads {
		seen[w.Ident] = true
		label := fmt.Sprintf("thread %s (ident %#x)", strOr(w.Name, "?"), w.Ident)
		g := byIdent[w.Ident]
		if g == nil {
			t.Errorf("%s: missing from the dump", label)
			continue
		}
		if w.NativeID != nil && g.TID != *w.NativeID {
			t.Errorf("%s: tid %d, want native_id %d", label, g.TID, *w.NativeID)
		}
		if w.Name != nil && g.Name != *w.Name {
			t.Errorf("%s: name %q, want %q", label, g.Name, *w.Name)
		}
		if g.Main != w.Main {
			t.Errorf("%s: main %v, want %v", label, g.Main, w.Main)
		}
		if w.Daemon != nil && (g.Daemon == nil || *g.Daemon != *w.Daemon) {
			t.Errorf("%s: daemon %v, want %v", label, boolOr(g.Daemon), *w.Daemon)
		}
		checkOSName(t, label, got, g, w)
		wf := w.Frames
		if sub, ok := want.Expect.Subinterpreters[strconv.FormatUint(w.Ident, 10)]; ok {
			wf = append(append([]readyFrame(nil), sub.Frames...), w.Frames...)
			checkStates2(t, label, g, w, sub, creatorIdent(want), cutOK)
		} else if g.Interpreter == nil || *g.Interpreter != (snapshot.InterpreterRef{ID: 0, Main: true}) || len(g.States) != 0 {
			t.Errorf("%s: interpreter %+v, thread states %+v; want the main interpreter (id 0) only", label, g.Interpreter, g.States)
		}
		if cutOK && len(g.Frames) > 0 && len(g.Frames) < len(wf) {
			t.Logf("%s: %d of %d frames (cut short)", label, len(g.Frames), len(wf))
			wf = wf[:len(g.Frames)]
			cut++
		}
		if d := frameDiff(g.Frames, wf); d != "" {
			t.Errorf("%s: frames differ (got | want, innermost first):\n%s", label, d)
			continue
		}
		matched += len(wf)
	}
	for _, g := range got.Threads {
		if g.NoThreadState {
			continue
		}
		if !seen[g.Ident] && g.Ident != want.WatcherIdent {
			t.Errorf("thread tid %d %q (ident %#x) in the dump but not in the ready file", g.TID, g.Name, g.Ident)
		}
		if g.Ident == want.WatcherIdent && want.WatcherIdent != 0 {
			t.Errorf("the ready watcher (ident %#x, tid %d) is in the dump but had exited", g.Ident, g.TID)
		}
	}
	return matched, cut
}

// checkStates2 checks a thread that runs a subinterpreter: the subinterpreter's state
// (named from its own threading module) innermost, the main interpreter's outermost.
// Up to 3.12 the subinterpreter's state records the thread that created the
// interpreter (parked.py's main thread) as its own: staleIdent (gh-109860).
// With cutOK the core may have lost the outer frames of a state.
func checkStates2(t testing.TB, label string, g *snapshot.Thread, w readyThread, sub readySubpart, staleIdent uint64, cutOK bool) {
	t.Helper()
	want := []snapshot.ThreadState{
		{Interpreter: snapshot.InterpreterRef{ID: sub.Interp}, Name: sub.Name, Frames: len(sub.Frames), ThreadID: staleIdent},
		{Interpreter: snapshot.InterpreterRef{ID: 0, Main: true}, Name: strOr(w.Name, ""), Frames: len(w.Frames)},
	}
	if len(g.States) != len(want) {
		t.Errorf("%s: %d thread states %+v, want %d: %+v", label, len(g.States), g.States, len(want), want)
		return
	}
	for i := range want {
		gs := g.States[i]
		gs.Tstate = 0
		if cutOK && gs.Frames < want[i].Frames {
			gs.Frames = want[i].Frames
		}
		if gs != want[i] {
			t.Errorf("%s: thread state %d is %+v, want %+v", label, i, gs, want[i])
		}
	}
	if g.Interpreter == nil || *g.Interpreter != want[0].Interpreter {
		t.Errorf("%s: interpreter %+v, want the subinterpreter's %+v", label, g.Interpreter, want[0].Interpreter)
	}
}

// creatorIdent is the ident a 3.8–3.12 subinterpreter's thread state keeps: that of
// parked.py's main thread, which created the interpreters; 0 from 3.13, whose
// subinterpreters run with a thread state of the calling thread.
func creatorIdent(want ready) uint64 {
	var minor int
	fmt.Sscanf(want.Python, "3.%d", &minor)
	if minor >= 13 {
		return 0
	}
	for _, w := range want.Threads {
		if w.Main {
			return w.Ident
		}
	}
	return 0
}

// checkOSName checks a thread's kernel name: every thread's own when live and in a
// core pyhang core wrote; in a kernel core only the main thread's (the process name);
// none in a gcore (TestDump checks that each kind of core says which it is).
func checkOSName(t testing.TB, label string, s *snapshot.Snapshot, g *snapshot.Thread, w readyThread) {
	t.Helper()
	if w.OSName == nil {
		return
	}
	want := *w.OSName
	switch s.Target.OSNames {
	case snapshot.OSNamesKernel:
		if s.Target.Kind != "pid" {
			t.Errorf("os_names %q in a core", s.Target.OSNames)
		}
	case snapshot.OSNamesCore:
		if s.Target.Kind == "pid" {
			t.Errorf("os_names %q of a live process", s.Target.OSNames)
		}
	case snapshot.OSNamesProcess:
		if !w.Main {
			want = ""
		}
	case snapshot.OSNamesNone:
		want = ""
	default:
		t.Errorf("target os_names %q", s.Target.OSNames)
	}
	if g.OSName != want {
		t.Errorf("%s: os_name %q, want %q (os_names %s)", label, g.OSName, want, s.Target.OSNames)
	}
}

// frameDiff is "" when the frames agree on function, qualname, file and line, and on the
// position (end line and columns) where the ready file has one, else the differing rows
// (and a few around them) side by side.
func frameDiff(got []snapshot.Frame, want []readyFrame) string {
	n := max(len(got), len(want))
	var rows []string
	bad := map[int]bool{}
	for i := range n {
		var g, w string
		if i < len(got) {
			f := got[i]
			g = fmt.Sprintf("%s [%s] %s:%d", f.Function, f.Qualname, f.File, f.Line)
			if i < len(want) && want[i].Positions != nil {
				g += fmt.Sprintf(" @%d-%s:%s-%s", f.Line, intOr(f.EndLine), intOr(f.Column), intOr(f.EndColumn))
			}
		}
		if i < len(want) {
			f := want[i]
			w = fmt.Sprintf("%s [%s] %s:%d", f.Function, f.Qualname, f.File, f.Line)
			if p := f.Positions; len(p) == 4 {
				w += fmt.Sprintf(" @%s-%s:%s-%s", intOr(p[0]), intOr(p[1]), intOr(p[2]), intOr(p[3]))
			}
		}
		rows = append(rows, fmt.Sprintf("  %3d %s | %s", i, g, w))
		if g != w {
			bad[i] = true
		}
	}
	if len(bad) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  (%d frames, want %d)\n", len(got), len(want))
	shown := 0
	for i, r := range rows {
		near := bad[i] || bad[i-1] || bad[i+1]
		if near && shown < 40 {
			b.WriteString(r + "\n")
			shown++
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// sameFrame compares two recorded frames by function, qualname, file and line (not the
// position, which the ready files record and pyhang's report does not in that form).
func sameFrame(a, b readyFrame) bool {
	return a.Function == b.Function && a.Qualname == b.Qualname && a.File == b.File && a.Line == b.Line
}

func intOr(p *int) string {
	if p == nil {
		return "?"
	}
	return strconv.Itoa(*p)
}

func boolOr(p *bool) string {
	if p == nil {
		return "absent"
	}
	return strconv.FormatBool(*p)
}

// stateFor is the thread state the dump must report for each way parked.py blocks.
var stateFor = map[string]string{
	"lock": snapshot.StateBlocked, "event": snapshot.StateBlocked, "queue": snapshot.StateBlocked,
	"condition": snapshot.StateBlocked, "join": snapshot.StateBlocked, "main": snapshot.StateBlocked,
	"recv": snapshot.StateIO, "select": snapshot.StateIO,
	"sleep": snapshot.StateSleeping, "locals": snapshot.StateSleeping, "subinterp": snapshot.StateSleeping,
	"c-thread": snapshot.StateBlocked,
}

// checkStates checks each thread's state against the way parked.py made it block;
// a blocked thread must name its futex.
func checkStates(t testing.TB, got *snapshot.Snapshot, want ready) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, g := range got.Threads {
		counts[g.State]++
		way := want.Expect.Blocking[g.Name]
		if g.Main {
			way = "main"
		}
		if g.NoThreadState {
			way = "c-thread" // pause() or sem_wait(): blocked
		}
		state, ok := stateFor[way]
		if !ok {
			t.Errorf("thread %d %q: ready file gives no known way of blocking (%q)", g.TID, g.Name, way)
			continue
		}
		if g.State != state {
			t.Errorf("thread %d %q blocks by %s: state %q, want %q (kernel %+v)", g.TID, g.Name, way, g.State, state, g.Kernel)
		}
		if state == snapshot.StateBlocked && !g.NoThreadState && (g.Kernel == nil || g.Kernel.Futex == 0) {
			t.Errorf("thread %d %q blocks by %s: no kernel.futex (kernel %+v)", g.TID, g.Name, way, g.Kernel)
		}
	}
	return counts
}

func strOr(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}
