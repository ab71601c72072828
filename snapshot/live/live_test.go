//go:build linux && amd64

package live

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/snapshot/target"
)

// TestHelperProcess is not a test: the tests below re-execute the test binary
// with PYHANG_LIVE_HELPER set to run it as a separate tracer process.
//
//	hold PID:   Attach PID, print "stopped", then wait to be killed
//	attach PID: Attach PID in both modes, print each error and its kind
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("PYHANG_LIVE_HELPER")
	if mode == "" {
		t.Skip("helper process only")
	}
	pid, _ := strconv.Atoi(os.Getenv("PYHANG_LIVE_PID"))
	switch mode {
	case "hold":
		p, err := Attach(pid, Options{MaxPause: -1})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Printf("stopped %d\n", len(p.Threads()))
		select {}
	case "attach":
		for _, nb := range []bool{false, true} {
			_, err := Attach(pid, Options{NonBlocking: nb})
			fmt.Printf("nonblocking=%v permission=%v err=%v\n", nb, errors.Is(err, ErrPermission), err)
		}
		os.Exit(0)
	}
	os.Exit(2)
}

// helper re-executes the test binary as a helper process.
func helper(mode string, pid int, bin string) *exec.Cmd {
	if bin == "" {
		bin = os.Args[0]
	}
	cmd := exec.Command(bin, "-test.run=^TestHelperProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), "PYHANG_LIVE_HELPER="+mode, "PYHANG_LIVE_PID="+strconv.Itoa(pid))
	return cmd
}

func TestAttach(t *testing.T) {
	pt := startTarget(t, 3)
	pid := pt.pid()
	p, err := Attach(pid, Options{MaxPause: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	t.Logf("paused so far %v, warnings %q", p.Paused(), p.Warnings())

	// Really stopped, and nothing moves.
	for tid, s := range pt.states(t) {
		if s != "t" {
			t.Errorf("thread %d: state %q while attached, want t", tid, s)
		}
	}
	pt.checkStalls(t)

	if p.Kind() != "pid" || p.PID() != pid || p.Signal() != nil {
		t.Errorf("Kind %q PID %d Signal %v", p.Kind(), p.PID(), p.Signal())
	}
	exe, _ := os.Readlink(procPath(pid, "exe"))
	if p.Executable() != exe {
		t.Errorf("Executable() = %q, want %q", p.Executable(), exe)
	}

	// Threads: the same set as /proc, main first, registers that match.
	ths := p.Threads()
	tids, _ := listTasks(pid)
	var got []int
	for _, th := range ths {
		got = append(got, th.TID)
	}
	if ths[0].TID != pid {
		t.Errorf("first thread %d, want the main thread %d", ths[0].TID, pid)
	}
	slices.Sort(got)
	if !slices.Equal(got, tids) {
		t.Errorf("threads %v, /proc has %v", got, tids)
	}
	if len(ths) != len(pt.info.Waiters)+2 {
		t.Errorf("%d threads, want %d", len(ths), len(pt.info.Waiters)+2)
	}
	for _, th := range ths {
		if th.Regs == nil {
			t.Errorf("thread %d: no registers", th.TID)
			continue
		}
		if th.State != "S" && th.State != "R" {
			t.Errorf("thread %d: state %q before the stop, want S or R", th.TID, th.State)
		}
		if want := pt.info.Idents[strconv.Itoa(th.TID)]; th.Regs.FSBase != want {
			t.Errorf("thread %d: fs_base %#x, want pthread_self %#x", th.TID, th.Regs.FSBase, want)
		}
		if th.Regs.RIP == 0 || th.Regs.RSP == 0 {
			t.Errorf("thread %d: rip %#x rsp %#x", th.TID, th.Regs.RIP, th.Regs.RSP)
		}
		switch {
		case slices.Contains(pt.info.Waiters, th.TID):
			if !th.InSyscall || th.Syscall != 202 || th.Regs.OrigRAX != 202 {
				t.Errorf("waiter %d: InSyscall %v Syscall %d orig_rax %d, want futex (202)", th.TID, th.InSyscall, th.Syscall, int64(th.Regs.OrigRAX))
			}
			if pt.info.Sem != 0 && th.Args[0] != pt.info.Sem {
				t.Errorf("waiter %d: futex %#x, want the Lock's sem_t %#x", th.TID, th.Args[0], pt.info.Sem)
			}
		case th.TID == pt.info.Sleeper:
			// clock_nanosleep (3.11+), nanosleep, select (3.8–3.10 use pselect6 or select)
			if !th.InSyscall || !slices.Contains([]int{230, 35, 270, 23}, th.Syscall) {
				t.Errorf("sleeper %d: InSyscall %v Syscall %d, want a sleep", th.TID, th.InSyscall, th.Syscall)
			}
		}
	}

	// Memory: the ELF magic at the executable's first mapping.
	var exeMap *target.Mapping
	maps := p.Mappings()
	for i, m := range maps {
		if m.Path == p.Executable() && m.Offset == 0 {
			exeMap = &maps[i]
			break
		}
	}
	if exeMap == nil {
		t.Fatalf("no mapping of %s at offset 0", p.Executable())
	}
	magic := make([]byte, 4)
	if err := target.ReadFull(p, magic, exeMap.Start); err != nil || string(magic) != "\x7fELF" {
		t.Errorf("ELF magic at %#x: %q, %v", exeMap.Start, magic, err)
	}
	if _, err := p.ReadAt(magic, 8); !errors.Is(err, target.ErrUnreadable) {
		t.Errorf("reading address 8: %v, want ErrUnreadable", err)
	}

	// The deleted mapped file: flagged, readable in memory and through OpenFile.
	var del *target.Mapping
	for i, m := range maps {
		if clean, ok := TrimDeleted(m.Path); ok && clean == pt.info.Mapped {
			del = &maps[i]
		}
	}
	if del == nil {
		t.Errorf("no deleted mapping of %s", pt.info.Mapped)
	} else {
		want := "PYHANGMAPPED"
		b := make([]byte, len(want))
		if err := target.ReadFull(p, b, del.Start); err != nil || string(b) != want {
			t.Errorf("memory of %s: %q, %v", del.Path, b, err)
		}
		f, err := p.OpenFile(del.Path)
		if err != nil {
			t.Errorf("OpenFile(%q): %v", del.Path, err)
		} else {
			clear(b)
			if _, err := f.ReadAt(b, 0); err != nil || string(b) != want {
				t.Errorf("%s: %q, %v", f.Name(), b, err)
			}
			f.Close()
		}
	}
	if f, err := p.OpenFile(p.Executable()); err != nil {
		t.Errorf("OpenFile(%q): %v", p.Executable(), err)
	} else {
		f.Close()
	}
	if _, err := p.OpenFile("/nonexistent/lib.so (deleted)"); err == nil {
		t.Errorf("OpenFile of an unmapped deleted path succeeded")
	}

	// Batched reads, one of them unreadable.
	reqs := []Request{
		{Addr: exeMap.Start, Buf: make([]byte, 4)},
		{Addr: 0x1000, Buf: make([]byte, 8)},
		{Addr: exeMap.Start + 1, Buf: make([]byte, 3)},
		{Addr: exeMap.Start, Buf: nil},
	}
	p.ReadBatch(reqs)
	if reqs[0].N != 4 || string(reqs[0].Buf) != "\x7fELF" || reqs[0].Err != nil {
		t.Errorf("batch 0: %+v", reqs[0])
	}
	if reqs[1].N != 0 || !errors.Is(reqs[1].Err, target.ErrUnreadable) {
		t.Errorf("batch 1: %+v", reqs[1])
	}
	if reqs[2].N != 3 || string(reqs[2].Buf) != "ELF" || reqs[2].Err != nil {
		t.Errorf("batch 2: %+v", reqs[2])
	}
	if reqs[3].N != 0 || reqs[3].Err != nil {
		t.Errorf("batch 3: %+v", reqs[3])
	}
	// The same as blocks of one size (target.BlockReader).
	blocks := make([]byte, 8)
	if whole := p.ReadBlocks(blocks, []uint64{exeMap.Start, 0x1000}, 4); !whole[0] || whole[1] || string(blocks[:4]) != "\x7fELF" {
		t.Errorf("ReadBlocks: %v, %q", whole, blocks)
	}

	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	paused := p.Paused()
	t.Logf("paused %v (includes the checks above)", paused)
	if paused <= 0 || p.Paused() != paused {
		t.Errorf("Paused() = %v then %v", paused, p.Paused())
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := p.ReadAt(magic, exeMap.Start); err == nil {
		t.Errorf("ReadAt after Close succeeded")
	}
	pt.checkRuns(t)
}

// TestPauseShort attaches and detaches at once and checks the pause is short.
func TestPauseShort(t *testing.T) {
	pt := startTarget(t, 3)
	p, err := Attach(pt.pid(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("attach+detach of %d threads: paused %v", len(p.Threads()), p.Paused())
	checkTracerGone(t, p)
	if p.Paused() > 500*time.Millisecond {
		t.Errorf("paused %v", p.Paused())
	}
	pt.checkRuns(t)
}

func TestNonBlocking(t *testing.T) {
	pt := startTarget(t, 3)
	before := pt.progress(t)
	p, err := Attach(pt.pid(), Options{NonBlocking: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Paused() != 0 {
		t.Errorf("Paused() = %v with NonBlocking", p.Paused())
	}
	for tid, s := range pt.states(t) {
		if stopped(s) {
			t.Errorf("thread %d stopped (%q) with NonBlocking", tid, s)
		}
	}
	ths := p.Threads()
	if len(ths) != len(pt.info.Waiters)+2 || ths[0].TID != pt.pid() {
		t.Errorf("threads %+v", ths)
	}
	for _, th := range ths {
		if !slices.Contains(pt.info.Waiters, th.TID) {
			continue
		}
		if !th.InSyscall || th.Syscall != 202 || (pt.info.Sem != 0 && th.Args[0] != pt.info.Sem) {
			t.Errorf("waiter %d: InSyscall %v Syscall %d futex %#x, want 202 on %#x", th.TID, th.InSyscall, th.Syscall, th.Args[0], pt.info.Sem)
		}
		if th.Regs == nil || th.Regs.RSP == 0 || th.Regs.RIP == 0 || th.Regs.FSBase != 0 {
			t.Errorf("waiter %d: regs %+v, want RSP and RIP only", th.TID, th.Regs)
		}
	}
	for _, m := range p.Mappings() {
		if m.Path == p.Executable() && m.Offset == 0 {
			b := make([]byte, 4)
			if err := target.ReadFull(p, b, m.Start); err != nil || string(b) != "\x7fELF" {
				t.Errorf("ELF magic: %q, %v", b, err)
			}
			break
		}
	}
	time.Sleep(50 * time.Millisecond)
	if pt.progress(t) == before {
		t.Errorf("target made no progress while read with NonBlocking")
	}
	p.Close()
	pt.checkRuns(t)
}

// TestTracerKilled checks that a SIGKILLed tracer leaves no thread stopped:
// the kernel detaches its tracees, and a seized thread has no pending stop.
// The same holding tracer also makes Attach fail with ErrTraced.
func TestTracerKilled(t *testing.T) {
	pt := startTarget(t, 3)
	h := helper("hold", pt.pid(), "")
	out, err := h.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	h.Stderr = os.Stderr
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	defer h.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "stopped") {
		t.Fatalf("helper: %q, %v", line, err)
	}
	pt.waitStates(t, "stopped", stopped)
	pt.checkStalls(t)

	_, err = Attach(pt.pid(), Options{})
	if !errors.Is(err, ErrTraced) || !strings.Contains(err.Error(), strconv.Itoa(h.Process.Pid)) {
		t.Errorf("Attach of a traced process: %v, want ErrTraced naming pid %d", err, h.Process.Pid)
	}
	t.Logf("traced: %v", err)

	if err := h.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h.Wait()
	pt.checkRuns(t)
}

// TestSignalReleases checks that SIGTERM resumes the target before it takes
// effect. The test listens to SIGTERM itself, so the re-raised signal reaches
// it instead of ending the test binary.
func TestSignalReleases(t *testing.T) {
	pt := startTarget(t, 2)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM)
	defer signal.Stop(sigs)
	p, err := Attach(pt.pid(), Options{MaxPause: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pt.waitStates(t, "stopped", stopped)
	if err := unix.Kill(os.Getpid(), unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	pt.waitStates(t, "running", func(s string) bool { return !stopped(s) })
	got := 0
	for timeout := time.After(2 * time.Second); got < 2; {
		select {
		case <-sigs:
			got++
		case <-timeout:
			t.Fatalf("got %d SIGTERM, want the original and the re-raised one", got)
		}
	}
	t.Logf("released by signal after %v", p.Paused())
	pt.checkRuns(t)
}

func TestWatchdog(t *testing.T) {
	pt := startTarget(t, 2)
	const limit = 150 * time.Millisecond
	p, err := Attach(pt.pid(), Options{MaxPause: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	time.Sleep(3 * limit)
	for tid, s := range pt.states(t) {
		if stopped(s) {
			t.Errorf("thread %d still stopped (%q) after the pause limit", tid, s)
		}
	}
	if d := p.Paused(); d < limit || d > 2*limit {
		t.Errorf("paused %v with a limit of %v", d, limit)
	}
	if w := strings.Join(p.Warnings(), "\n"); !strings.Contains(w, "pause limit") {
		t.Errorf("warnings %q lack the pause limit", w)
	}
	b := make([]byte, 1)
	if _, err := p.ReadAt(b, p.Mappings()[0].Start); err != nil {
		t.Errorf("ReadAt after the watchdog: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	pt.checkRuns(t)
}

func TestAttachErrors(t *testing.T) {
	// A pid that just existed and was reaped.
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	dead := c.Process.Pid
	for _, nb := range []bool{false, true} {
		_, err := Attach(dead, Options{NonBlocking: nb})
		if !errors.Is(err, ErrNoProcess) || err.Error() != fmt.Sprintf("no process with pid %d", dead) {
			t.Errorf("nonblocking=%v: Attach(reaped pid): %v", nb, err)
		}
	}
	if _, err := Attach(0, Options{}); !errors.Is(err, ErrNoProcess) {
		t.Errorf("Attach(0): %v", err)
	}

	// Ourselves, a thread of ours, our parent.
	if _, err := Attach(os.Getpid(), Options{NonBlocking: true}); !errors.Is(err, ErrSelf) {
		t.Errorf("Attach(self): %v", err)
	}
	tids, _ := listTasks(os.Getpid())
	for _, tid := range tids {
		if tid != os.Getpid() {
			if _, err := Attach(tid, Options{}); !errors.Is(err, ErrSelf) {
				t.Errorf("Attach(own thread %d): %v", tid, err)
			}
			break
		}
	}
	if _, err := Attach(os.Getppid(), Options{}); !errors.Is(err, ErrSelf) {
		t.Errorf("Attach(parent): %v", err)
	} else {
		t.Logf("parent: %v", err)
	}

	// A zombie: a child that exited and is not reaped yet.
	z := exec.Command("true")
	if err := z.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); readState(z.Process.Pid, z.Process.Pid) != "Z"; {
		if time.Now().After(deadline) {
			t.Fatal("child never became a zombie")
		}
		time.Sleep(time.Millisecond)
	}
	_, err := Attach(z.Process.Pid, Options{})
	if !errors.Is(err, ErrZombie) {
		t.Errorf("Attach(zombie): %v", err)
	}
	t.Logf("zombie: %v", err)
	z.Wait()
}

// TestPermissionDenied runs a copy of the test binary as nobody against a
// target that runs as root.
func TestPermissionDenied(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a helper as another user")
	}
	pt := startTarget(t, 1)
	dir := t.TempDir()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "live.test")
	if err := copyFile(os.Args[0], bin, 0o755); err != nil {
		t.Fatal(err)
	}
	h := helper("attach", pt.pid(), bin)
	h.Dir = dir
	h.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := h.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v: %s", err, out)
	}
	t.Logf("helper:\n%s", out)
	for _, nb := range []string{"false", "true"} {
		if !bytes.Contains(out, []byte("nonblocking="+nb+" permission=true err=permission denied")) {
			t.Errorf("nonblocking=%s: no permission error in %q", nb, out)
		}
	}
	if !bytes.Contains(out, []byte("CAP_SYS_PTRACE")) || bytes.Count(out, []byte("\n")) != 2 {
		t.Errorf("messages should be one line each and say what grants access: %q", out)
	}
	pt.waitStates(t, "running", func(s string) bool { return !stopped(s) })
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// BenchmarkAttachDetach measures the pause of an attach and immediate detach
// of a 50-thread Python process (main, sleeper, 48 lock waiters).
func BenchmarkAttachDetach(b *testing.B) {
	pt := startTarget(b, 48)
	var total, worst time.Duration
	n := 0
	for b.Loop() {
		p, err := Attach(pt.pid(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Threads()) != 50 {
			b.Fatalf("%d threads, want 50", len(p.Threads()))
		}
		if err := p.Close(); err != nil {
			b.Fatal(err)
		}
		d := p.Paused()
		total += d
		worst = max(worst, d)
		n++
	}
	b.ReportMetric(float64(total.Microseconds())/float64(n), "paused-µs/op")
	b.ReportMetric(float64(worst.Microseconds()), "max-paused-µs")
	pt.checkRuns(b)
}

// TestThreadThatWillNotStop attaches to a process with a thread stuck in a
// vfork (state D, which PTRACE_INTERRUPT cannot stop): Attach reports it
// without registers, and after Close the thread is not left stopped when it
// finally leaves the kernel, although its interrupt was still pending — the
// tracer thread's exit dropped it.
func TestThreadThatWillNotStop(t *testing.T) {
	py := findPython(t)
	dir := t.TempDir()
	cmd := exec.Command(py, "testdata/vfork.py", dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var info struct{ PID, Spawner int }
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "info.json"))
		if err == nil && json.Unmarshal(b, &info) == nil && readState(info.PID, info.Spawner) == "D" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spawner never reached state D (info %q)", b)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p, err := Attach(info.PID, Options{MaxPause: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var spawner *target.Thread
	for _, th := range p.Threads() {
		if th.TID == info.Spawner {
			spawner = &th
		} else if th.Regs == nil || th.Regs.FSBase == 0 {
			t.Errorf("thread %d: no registers", th.TID)
		}
	}
	if spawner == nil || spawner.State != "D" || (spawner.Regs != nil && spawner.Regs.FSBase != 0) {
		t.Errorf("spawner: %+v, want state D and no ptrace registers", spawner)
	} else if !spawner.InSyscall || (spawner.Syscall != 56 && spawner.Syscall != 435) {
		t.Errorf("spawner: InSyscall %v Syscall %d, want clone (56) or clone3 (435) from /proc", spawner.InSyscall, spawner.Syscall)
	}
	t.Logf("warnings: %q; paused %v", p.Warnings(), p.Paused())
	if !strings.Contains(strings.Join(p.Warnings(), "\n"), "did not stop") {
		t.Errorf("no warning about the thread that did not stop")
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	checkTracerGone(t, p)
	// Let the vfork child run: opening the fifo for writing unblocks it.
	f, err := os.OpenFile(filepath.Join(dir, "fifo"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := os.Stat(filepath.Join(dir, "spawned")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spawner never finished; its state is %q", readState(info.PID, info.Spawner))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkTracerGone checks that the tracer's OS thread has ended after Close:
// its end is what drops a tracee whose stop was still pending.
func checkTracerGone(t *testing.T, p *Process) {
	t.Helper()
	<-p.tr.exited
	tid := p.tr.tid
	if tid == os.Getpid() {
		t.Fatalf("the tracer ran on the main thread, which never ends")
	}
	for deadline := time.Now().Add(2 * time.Second); ; {
		if _, err := os.Stat(procPath(os.Getpid(), "task", strconv.Itoa(tid))); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tracer thread %d still exists after Close", tid)
		}
		time.Sleep(time.Millisecond)
	}
}
