//go:build linux && amd64

package live

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/target"
)

// Process is a live process opened by Attach; it implements target.Target.
type Process struct {
	pid     int
	opts    Options
	exe     string
	maps    []target.Mapping
	threads []target.Thread
	mem     *memory
	tr      *tracer // nil with NonBlocking
	ahead   *tracer // threads seized for a later Stop (Seize)

	mu       sync.Mutex
	warnings []string

	closeOnce sync.Once
	closeErr  error
}

var _ target.Target = (*Process)(nil)

// Attach opens the process pid. By default its threads are stopped until
// Close (or Options.MaxPause) and their registers read; with
// Options.NonBlocking nothing is stopped. Errors wrap ErrNoProcess,
// ErrPermission, ErrTraced, ErrSelf or ErrZombie and read as one line.
func Attach(pid int, opts Options) (*Process, error) {
	if pid <= 0 {
		return nil, noProcessError(pid, nil)
	}
	p := &Process{pid: pid, opts: opts, mem: &memory{pid: pid}}
	if err := p.resolve(); err != nil {
		return nil, err
	}
	if err := p.readLayout(); err != nil {
		return nil, err
	}
	var err error
	switch {
	case opts.ThreadsLater && opts.NonBlocking:
		err = p.probeMemory()
	case opts.NonBlocking:
		err = p.readThreadsNonBlocking()
	default:
		err = p.stop()
	}
	if err != nil {
		p.mem.close()
		return nil, err
	}
	return p, nil
}

// Stop stops the threads of a process opened with NonBlocking and returns
// that stopped view: registers, system calls, memory as of the stop, until
// its Close (or the MaxPause of opts). The executable and the mappings are the
// ones p read: they rarely change, and not reading them again keeps the pause
// short. p itself stays as it was.
func (p *Process) Stop(opts Options) (*Process, error) {
	if !p.opts.NonBlocking || opts.NonBlocking {
		return nil, fmt.Errorf("process %d: Stop needs a process opened with NonBlocking, and stops it", p.pid)
	}
	st := &Process{pid: p.pid, opts: opts, exe: p.exe, maps: p.maps, mem: &memory{pid: p.pid}, tr: p.ahead}
	p.ahead = nil
	if err := st.stop(); err != nil {
		st.mem.close()
		return nil, err
	}
	return st, nil
}

// resolve checks that pid names a live process other than pyhang, and turns a
// thread id into its process id.
func (p *Process) resolve() error {
	self := os.Getpid()
	if p.pid == self {
		return selfError(p.pid, "pyhang itself")
	}
	tgid, err := statusInt(p.pid, "Tgid")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
			return noProcessError(p.pid, err)
		}
		return permissionError(p.pid, p.opts.NonBlocking, "reading /proc/PID/status of", err)
	}
	if tgid == self {
		return selfError(p.pid, "a thread of pyhang itself")
	}
	if tgid != p.pid {
		p.warn(fmt.Sprintf("pid %d is a thread of process %d; reading the whole process", p.pid, tgid))
		p.pid, p.mem.pid = tgid, tgid
	}
	if !p.opts.NonBlocking && p.pid == os.Getppid() {
		return selfError(p.pid, "pyhang's parent process (use --nonblocking to read it without stopping it)")
	}
	tids, err := listTasks(p.pid)
	if err != nil {
		return noProcessError(p.pid, err)
	}
	for _, tid := range tids {
		if s := readState(p.pid, tid); s != "Z" && s != "X" && s != "" {
			return nil
		}
	}
	return zombieError(p.pid)
}

// readLayout reads the executable's path and the mappings. It runs before any
// thread is stopped: mappings rarely change, and the pause stays short.
func (p *Process) readLayout() error {
	b, err := os.ReadFile(procPath(p.pid, "maps"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return noProcessError(p.pid, err)
		}
		return permissionError(p.pid, p.opts.NonBlocking, "reading the memory map of", err)
	}
	maps, err := parseMaps(strings.NewReader(string(b)))
	if err != nil {
		p.warn(fmt.Sprintf("%s: %v", procPath(p.pid, "maps"), err))
	}
	p.maps = maps
	if p.exe, err = os.Readlink(procPath(p.pid, "exe")); err != nil {
		for _, m := range maps {
			if m.Offset == 0 && strings.HasPrefix(m.Path, "/") {
				p.exe = m.Path
				break
			}
		}
		p.warn(fmt.Sprintf("reading %s: %v; assuming the executable is %q", procPath(p.pid, "exe"), err, p.exe))
	}
	return nil
}

// stop seizes and stops every thread and reads their registers.
func (p *Process) stop() error {
	if p.tr == nil {
		p.tr = startTracer(p.pid, p.opts.maxPause())
	} else {
		p.tr.maxPause = p.opts.maxPause() // read by the tracer thread, after do hands it the work
	}
	p.tr.releaseOnSignal()
	var warns []string
	var err error
	p.tr.do(func() bool {
		warns, err = p.tr.stopAll(p.opts.stopWait())
		return false
	})
	for _, w := range warns {
		p.warn(w)
	}
	if err != nil {
		p.tr.release("attach failed")
		return p.attachError(err)
	}
	for _, th := range p.tr.order {
		if th.gone {
			continue
		}
		t := target.Thread{TID: th.tid, State: th.state, Regs: th.regs, Name: th.comm}
		if th.regs != nil {
			setSyscall(&t, th.regs)
		} else {
			// Not stopped: the kernel's own view is the best left.
			p.warn(fmt.Sprintf("thread %d: no registers: %s", th.tid, th.note))
			p.fillFromSyscallFile(&t)
		}
		p.threads = append(p.threads, t)
	}
	if len(p.threads) == 0 {
		p.tr.release("process gone")
		return noProcessError(p.pid, errors.New("every thread exited while attaching"))
	}
	sortThreads(p.pid, p.threads)
	return nil
}

// attachError turns a failure of stopAll into the user's message.
func (p *Process) attachError(err error) error {
	var se *seizeError
	if errors.As(err, &se) {
		switch {
		case errors.Is(se.err, unix.ESRCH):
			return noProcessError(p.pid, err)
		case errors.Is(se.err, unix.EPERM):
			if tp, terr := statusInt(p.pid, "TracerPid"); terr == nil && tp != 0 {
				// TracerPid is the tracing thread; name its process.
				if tgid, err := statusInt(tp, "Tgid"); err == nil {
					tp = tgid
				}
				comm, _ := os.ReadFile(procPath(tp, "comm"))
				name := strings.TrimSpace(string(comm))
				if name == "" {
					name = "unknown"
				}
				return tracedError(p.pid, tp, name)
			}
			return permissionError(p.pid, false, "tracing", err)
		}
		return fmt.Errorf("attaching to pid %d: %w", p.pid, err)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return noProcessError(p.pid, err)
	}
	return fmt.Errorf("attaching to pid %d: %w", p.pid, err)
}

// ReadThreads reads the threads of a process opened with NonBlocking and
// ThreadsLater, without stopping them. It may run beside reads of memory.
func (p *Process) ReadThreads() error {
	if !p.opts.NonBlocking || !p.opts.ThreadsLater {
		return fmt.Errorf("process %d: ReadThreads is for a process opened with NonBlocking and ThreadsLater", p.pid)
	}
	return p.readThreadsNonBlocking()
}

// Seize readies a later Stop of a process opened with NonBlocking: it
// seizes every thread (PTRACE_SEIZE, which does not stop it) and reads its
// state and name. That is a system call and a /proc read per thread, which
// would otherwise open the pause; done ahead, while pyhang still reads the
// running process, Stop only interrupts. A thread that takes a signal while
// seized stops until Stop's Close, or Close, hands the signal back.
func (p *Process) Seize() error {
	if !p.opts.NonBlocking || p.ahead != nil {
		return fmt.Errorf("process %d: Seize needs a process opened with NonBlocking, once", p.pid)
	}
	tr := startTracer(p.pid, p.opts.maxPause())
	// The state letters and names ReadThreads read a moment ago serve: a
	// second read of each stat line would double the cost.
	for _, t := range p.threads {
		tr.known[t.TID] = stateComm{t.State, t.Name}
	}
	var err error
	tr.do(func() bool {
		_, _, err = tr.seizeNew(0)
		return false
	})
	if err != nil {
		tr.release("attach failed")
		return p.attachError(err)
	}
	tr.releaseOnSignal()
	p.ahead = tr
	return nil
}

// readThreadsNonBlocking reads the threads from /proc without stopping them.
func (p *Process) readThreadsNonBlocking() error {
	tids, err := listTasks(p.pid)
	if err != nil {
		return noProcessError(p.pid, err)
	}
	if len(tids) > maxThreads {
		p.warn(fmt.Sprintf("%d threads; only the first %d are read", len(tids), maxThreads))
		tids = tids[:maxThreads]
	}
	denied := 0
	dir := openTaskDir(p.pid)
	defer dir.close()
	for _, tid := range tids {
		t := target.Thread{TID: tid}
		t.State, t.Name = dir.stateComm(tid)
		if t.State == "" {
			continue // exited meanwhile
		}
		if errors.Is(p.fillFromSyscall(dir, &t), fs.ErrPermission) {
			denied++
		}
		p.threads = append(p.threads, t)
	}
	if len(p.threads) == 0 {
		return noProcessError(p.pid, errors.New("every thread exited while reading"))
	}
	if denied == len(p.threads) {
		return permissionError(p.pid, true, "reading the threads of", fs.ErrPermission)
	}
	if err := p.probeMemory(); err != nil {
		return err
	}
	sortThreads(p.pid, p.threads)
	return nil
}

// probeMemory reads one byte of the first readable mapping, so that missing
// permission shows at Attach rather than as a wall of unreadable addresses.
func (p *Process) probeMemory() error {
	for _, m := range p.maps {
		if len(m.Perms) > 0 && m.Perms[0] == 'r' && m.End > m.Start && !strings.HasPrefix(m.Path, "[v") {
			var b [1]byte
			if _, err := p.mem.ReadAt(b[:], m.Start); err != nil && (errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EPERM)) {
				return permissionError(p.pid, p.opts.NonBlocking, "reading the memory of", err)
			}
			return nil
		}
	}
	return nil
}

// fillFromSyscallFile sets the syscall fields, and RSP/RIP only, from
// /proc/PID/task/TID/syscall; a running thread gets no registers.
func (p *Process) fillFromSyscallFile(t *target.Thread) error {
	return p.fillFromSyscall(nil, t)
}

// fillFromSyscall is fillFromSyscallFile, through d when not nil.
func (p *Process) fillFromSyscall(d *taskDir, t *target.Thread) error {
	path := procPath(p.pid, "task", strconv.Itoa(t.TID), "syscall")
	var b []byte
	var err error
	if d != nil {
		b, err = d.read(t.TID, "syscall")
	} else {
		b, err = readProc(path)
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			p.warn(fmt.Sprintf("thread %d: %v", t.TID, err))
		}
		return err
	}
	si, err := parseSyscallFile(b)
	if err != nil {
		p.warn(fmt.Sprintf("thread %d: %s: %v", t.TID, path, err))
		return err
	}
	if si.Running {
		return nil
	}
	if si.InSyscall {
		t.InSyscall, t.Syscall, t.Args = true, si.Nr, si.Args
		if si.Nr == target.SysRestart {
			t.KernelWait = kernelWait(p.pid, t.TID)
		}
	}
	if si.SP != 0 || si.PC != 0 { // a zombie thread prints zeros
		t.Regs = &target.Regs{RSP: si.SP, RIP: si.PC, Partial: true}
	}
	return nil
}

// sortThreads puts the main thread first, then the others by tid.
func sortThreads(pid int, ts []target.Thread) {
	slices.SortFunc(ts, func(a, b target.Thread) int {
		switch {
		case a.TID == b.TID:
			return 0
		case a.TID == pid:
			return -1
		case b.TID == pid:
			return 1
		}
		return a.TID - b.TID
	})
}

func (p *Process) warn(s string) {
	p.mu.Lock()
	p.warnings = append(p.warnings, s)
	p.mu.Unlock()
}

// Kind is "pid".
func (p *Process) Kind() string { return "pid" }

// PID is the process id (the thread group id when Attach got a thread id).
func (p *Process) PID() int { return p.pid }

// Executable is the target's /proc/PID/exe, as the target saw it.
func (p *Process) Executable() string { return p.exe }

// Mappings are /proc/PID/maps as read at Attach. A path that ends in
// " (deleted)" names a file unlinked or replaced since; see TrimDeleted.
func (p *Process) Mappings() []target.Mapping { return slices.Clone(p.maps) }

// Threads are the threads as found at Attach, main thread first.
func (p *Process) Threads() []target.Thread { return slices.Clone(p.threads) }

// Signal is nil: a live process has no fatal signal.
func (p *Process) Signal() *target.SigInfo { return nil }

// ReadAt reads target memory; it works until Close.
func (p *Process) ReadAt(b []byte, addr uint64) (int, error) { return p.mem.ReadAt(b, addr) }

// ReadBatch fills many requests with few system calls (process_vm_readv
// takes up to 1024 ranges at once); each request gets its own N and Err.
func (p *Process) ReadBatch(reqs []Request) { p.mem.readBatch(reqs) }

// ReadBlocks is ReadBatch for blocks of one size (target.BlockReader).
func (p *Process) ReadBlocks(buf []byte, addrs []uint64, size int) []bool {
	reqs := make([]Request, len(addrs))
	for i, a := range addrs {
		reqs[i] = Request{Addr: a, Buf: buf[i*size : (i+1)*size : (i+1)*size]}
	}
	p.mem.readBatch(reqs)
	whole := make([]bool, len(reqs))
	for i := range reqs {
		whole[i] = reqs[i].N == size
	}
	return whole
}

// Warnings are the non-fatal problems met so far.
func (p *Process) Warnings() []string {
	p.mu.Lock()
	w := slices.Clone(p.warnings)
	p.mu.Unlock()
	if p.tr != nil && p.tr.releasedBy() == "watchdog" {
		w = append(w, fmt.Sprintf("the target was resumed after the %v pause limit, before pyhang had finished reading; what was read after that may be inconsistent", p.opts.maxPause()))
	}
	return w
}

// Paused is how long the threads were stopped: from the first PTRACE_INTERRUPT
// to the last detach (so far, while still stopped); 0 with NonBlocking.
func (p *Process) Paused() time.Duration {
	if p.tr == nil {
		return 0
	}
	return p.tr.paused()
}

// Consistency says how what is read is one instant of the process: stopped
// while read, or, with NonBlocking, unchecked.
func (p *Process) Consistency() string {
	if p.opts.NonBlocking {
		return snapshot.ReadUnchecked
	}
	return snapshot.ReadStopped
}

// Close resumes the target (if not yet resumed) and ends memory reads. Safe to
// call more than once.
func (p *Process) Close() error {
	p.closeOnce.Do(func() {
		var errs []error
		if p.tr != nil {
			errs = append(errs, p.tr.release("close"))
		}
		if p.ahead != nil {
			errs = append(errs, p.ahead.release("close"))
		}
		errs = append(errs, p.mem.close())
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

// FutexWaitOf returns the futex word thread tid of the process waits on
// now, read from /proc (false when it is in no futex wait, or gone).
func (p *Process) FutexWaitOf(tid int) (uint64, bool) {
	b, err := readSmall(procPath(p.pid, "task", strconv.Itoa(tid), "syscall"), 512)
	if err != nil {
		return 0, false
	}
	si, err := parseSyscallFile(b)
	if err != nil || !si.InSyscall || si.Nr != 202 {
		return 0, false
	}
	return si.Args[0], true
}
