//go:build linux

package corefile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pyhang/pyhang/snapshot/target"
)

// These tests core real processes: a Python with two threads blocked on a
// lock, killed by SIGABRT (kernel core) or cored alive by gdb's gcore.

const blockedThreads = `
import os, sys, threading, time
threading.stack_size(256 * 1024)
lock = threading.Lock()
lock.acquire()
ts = [threading.Thread(target=lock.acquire, daemon=True) for _ in range(2)]
for t in ts:
    t.start()
time.sleep(0.2)
print("ready", flush=True)
if sys.argv[1] == "abort":
    os.kill(os.getpid(), 6)
time.sleep(1000)
`

func pythonForCores(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to core: none at /usr/bin/python3 or in PATH")
	}
	return p
}

// kernelCore runs Python under "ulimit -c unlimited" in a fresh directory,
// lets it kill itself with SIGABRT and returns the core's path and the pid.
func kernelCore(t *testing.T) (string, int) {
	t.Helper()
	pattern, err := os.ReadFile("/proc/sys/kernel/core_pattern")
	if err != nil {
		t.Skipf("cannot read core_pattern: %v", err)
	}
	pat := strings.TrimSpace(string(pattern))
	if strings.HasPrefix(pat, "|") || strings.Contains(pat, "/") || strings.Contains(pat, "%") {
		t.Skipf("core_pattern %q does not write ./core in the working directory; kernel core test needs the pattern \"core\"", pat)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to raise the core size limit")
	}
	py := pythonForCores(t)
	dir := t.TempDir()
	cmd := exec.Command(bash, "-c", `ulimit -c unlimited && exec "$0" -c "$1" abort`, py, blockedThreads)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("python did not die: %v\n%s", err, out)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGABRT {
		t.Fatalf("python ended with %v, want SIGABRT\n%s", ws, out)
	}
	if !ws.CoreDump() {
		t.Skipf("the kernel wrote no core (hard RLIMIT_CORE, or a filesystem that refuses it)")
	}
	pid := ee.Pid()
	path := filepath.Join(dir, pat)
	if b, _ := os.ReadFile("/proc/sys/kernel/core_uses_pid"); strings.TrimSpace(string(b)) == "1" {
		path = fmt.Sprintf("%s.%d", path, pid)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("core dumped but not found: %v", err)
	}
	return path, pid
}

// gcoreOf starts Python with blocked threads, cores it with gcore and kills it.
func gcoreOf(t *testing.T) (string, int) {
	t.Helper()
	gcore, err := exec.LookPath("gcore")
	if err != nil {
		t.Skip("gcore (gdb) not installed")
	}
	py := pythonForCores(t)
	cmd := exec.Command(py, "-c", blockedThreads, "sleep")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && line != "ready\n" {
			err = fmt.Errorf("python said %q", line)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("python not ready after 30s")
	}
	prefix := filepath.Join(t.TempDir(), "gcore")
	pid := cmd.Process.Pid
	if out, err := exec.Command(gcore, "-o", prefix, fmt.Sprint(pid)).CombinedOutput(); err != nil {
		t.Skipf("gcore failed (ptrace not permitted?): %v\n%s", err, out)
	}
	return fmt.Sprintf("%s.%d", prefix, pid), pid
}

func TestKernelCore(t *testing.T) {
	if testing.Short() {
		t.Skip("cores a process")
	}
	path, pid := kernelCore(t)
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkRealCore(t, c, pid)
	sig := c.Signal()
	if sig == nil || sig.Signo != int(syscall.SIGABRT) || sig.TID != pid {
		t.Errorf("Signal() = %+v, want SIGABRT in thread %d", sig, pid)
	}
}

func TestGcore(t *testing.T) {
	if testing.Short() {
		t.Skip("cores a process")
	}
	path, pid := gcoreOf(t)
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkRealCore(t, c, pid)
	if sig := c.Signal(); sig != nil {
		t.Errorf("Signal() = %+v for a live process cored by gdb, want nil", sig)
	}
	// The main thread sleeps.
	if ths := c.Threads(); !ths[0].InSyscall {
		t.Errorf("main thread %d not in a syscall (sleeping): %+v", ths[0].TID, ths[0])
	}
}

// checkRealCore checks what both kinds of core of blockedThreads share.
func checkRealCore(t *testing.T, c *Core, pid int) {
	t.Helper()
	if c.Kind() != "core" || c.PID() != pid {
		t.Errorf("Kind %q PID %d, want core %d", c.Kind(), c.PID(), pid)
	}
	ths := c.Threads()
	if len(ths) != 3 || ths[0].TID != pid {
		t.Fatalf("threads %+v, want 3 with the main thread %d first", ths, pid)
	}
	// The other two wait on the lock's futex.
	for _, th := range ths[1:] {
		if !th.InSyscall || th.Syscall != 202 || th.Args[0] == 0 {
			t.Errorf("thread %d: in syscall %v nr %d args %x, want blocked in futex (202)", th.TID, th.InSyscall, th.Syscall, th.Args)
		}
	}
	for _, th := range ths {
		if th.Regs == nil || th.Regs.RIP == 0 || th.Regs.RSP == 0 || th.Regs.FSBase == 0 {
			t.Errorf("thread %d registers %+v", th.TID, th.Regs)
		}
	}
	exe, err := filepath.EvalSymlinks(pythonForCores(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Executable() != exe {
		t.Errorf("Executable() = %q, want %q", c.Executable(), exe)
	}

	// libc's text: not in the core, read through the splice from the file.
	var text, libcHead *target.Mapping
	ms := c.Mappings()
	for i, m := range ms {
		if filepath.Base(m.Path) != "libc.so.6" {
			continue
		}
		if m.Offset == 0 && libcHead == nil {
			libcHead = &ms[i]
		}
		if m.Perms == "r-xp" {
			text = &ms[i]
		}
	}
	if text == nil || libcHead == nil {
		t.Fatalf("no libc.so.6 text mapping in %+v", ms)
	}
	file, err := os.ReadFile(text.Path)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 64)
	if err := target.ReadFull(c, p, text.Start); err != nil || !bytes.Equal(p, file[text.Offset:text.Offset+64]) {
		t.Errorf("libc text at %#x: %x (%v), want the file's bytes at %#x", text.Start, p, err, text.Offset)
	}
	if _, err := c.read(p, text.Start, true, true); err == nil {
		t.Logf("libc text at %#x is in the core itself", text.Start)
	}
	if err := target.ReadFull(c, p[:4], libcHead.Start); err != nil || string(p[:4]) != "\x7fELF" {
		t.Errorf("libc ELF magic at %#x: %q %v", libcHead.Start, p[:4], err)
	}

	// A read-only string of libc, wherever it is mapped.
	const str = "malloc(): corrupted top size"
	off := bytes.Index(file, []byte(str))
	if off < 0 {
		t.Fatalf("%q not in %s", str, text.Path)
	}
	found := false
	for _, m := range ms {
		if m.Path != text.Path || uint64(off) < m.Offset || uint64(off)-m.Offset >= m.End-m.Start {
			continue
		}
		found = true
		addr := m.Start + uint64(off) - m.Offset
		got := make([]byte, len(str))
		if err := target.ReadFull(c, got, addr); err != nil || string(got) != str {
			t.Errorf("string at %#x: %q %v", addr, got, err)
		}
		if _, err := c.read(got, addr, true, true); err == nil {
			t.Logf("libc rodata at %#x is in the core itself", addr)
		}
	}
	if !found {
		t.Errorf("file offset %#x of %q is in no libc mapping", off, str)
	}

	// The build-id check compared something real.
	coreID, err := imageBuildID(memImage{c, libcHead.Start}, libcHead.End-libcHead.Start)
	if err != nil {
		t.Errorf("build-id of libc from the core: %v", err)
	}
	st, _ := os.Stat(text.Path)
	fileID, err := imageBuildID(bytes.NewReader(file), uint64(st.Size()))
	if err != nil || fileID != coreID {
		t.Errorf("build-id of libc: file %q (%v), core %q", fileID, err, coreID)
	}
	if ws := c.Warnings(); len(ws) != 0 {
		t.Errorf("warnings: %q", ws)
	}
}
