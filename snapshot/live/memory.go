//go:build linux && amd64

package live

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/snapshot/target"
)

// iovMax is the kernel's UIO_MAXIOV: the most iovecs one process_vm_readv takes.
const iovMax = 1024

// memory reads a live process with process_vm_readv, or through /proc/PID/mem
// where that syscall is refused (EPERM under some seccomp profiles, ENOSYS in
// gVisor and old kernels). Neither needs the tracer thread.
type memory struct {
	pid int

	mu      sync.Mutex
	file    *os.File // /proc/PID/mem once process_vm_readv failed
	useFile bool
	closed  bool
}

func (m *memory) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	if m.file != nil {
		err := m.file.Close()
		m.file = nil
		return err
	}
	return nil
}

// mode returns the /proc/PID/mem file when reads go through it, and whether
// the memory is closed.
func (m *memory) mode() (*os.File, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, false, fmt.Errorf("process %d: target closed", m.pid)
	}
	if !m.useFile {
		return nil, false, nil
	}
	if m.file == nil {
		f, err := os.Open(procPath(m.pid, "mem"))
		if err != nil {
			return nil, true, err
		}
		m.file = f
	}
	return m.file, true, nil
}

func (m *memory) switchToFile() {
	m.mu.Lock()
	m.useFile = true
	m.mu.Unlock()
}

// ReadAt reads len(p) bytes at addr; a short read returns the bytes read and
// an error wrapping target.ErrUnreadable that names the first unread address.
func (m *memory) ReadAt(p []byte, addr uint64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if addr+uint64(len(p)) < addr {
		return 0, fmt.Errorf("reading %d bytes at %#x: range wraps around: %w", len(p), addr, target.ErrUnreadable)
	}
	n := 0
	for n < len(p) {
		f, useFile, err := m.mode()
		if err != nil {
			return n, fmt.Errorf("reading %d bytes at %#x: %w (%w)", len(p)-n, addr+uint64(n), target.ErrUnreadable, err)
		}
		var r int
		if useFile {
			r, err = preadMem(f, p[n:], addr+uint64(n))
		} else {
			r, err = vmRead(m.pid, p[n:], addr+uint64(n))
			if r == 0 && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS)) {
				m.switchToFile()
				continue
			}
		}
		n += r
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil || r == 0 {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("reading %d bytes at %#x: %w (%w)", len(p)-n, addr+uint64(n), target.ErrUnreadable, err)
		}
	}
	return n, nil
}

// vmRead is one process_vm_readv of p from addr. It is made as a raw system
// call, which keeps the goroutine's P through it: a decode makes hundreds of
// these reads, each a few microseconds, and the runtime's bookkeeping around
// an ordinary system call, with its monitor thread taking back a P that sits
// in one, cost a 102-thread dump 1.9 ms of its wall time and 3 ms of CPU
// (151 paired runs). A read waits at most for the target's pages, which it
// faults in; the process has another P meanwhile.
func vmRead(pid int, p []byte, addr uint64) (int, error) {
	local := unix.Iovec{Base: &p[0]}
	local.SetLen(len(p))
	remote := unix.RemoteIovec{Base: uintptr(addr), Len: len(p)}
	n, _, e := unix.RawSyscall6(unix.SYS_PROCESS_VM_READV, uintptr(pid), uintptr(unsafe.Pointer(&local)), 1, uintptr(unsafe.Pointer(&remote)), 1, 0)
	runtime.KeepAlive(p)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func preadMem(f *os.File, p []byte, addr uint64) (int, error) {
	if addr > math.MaxInt64 {
		return 0, unix.EIO // not a user-space address; pread takes a signed offset
	}
	n, err := unix.Pread(int(f.Fd()), p, int64(addr))
	if n < 0 {
		n = 0
	}
	return n, err
}

// readBatch fills many requests with as few process_vm_readv calls as
// possible (one per iovMax requests when all succeed). The kernel stops a
// vectored read at the first unreadable address, so the request it stopped in
// is read again on its own for an exact count and error, and the batch
// continues after it.
func (m *memory) readBatch(reqs []Request) {
	for i := 0; i < len(reqs); {
		if _, useFile, err := m.mode(); useFile || err != nil {
			for ; i < len(reqs); i++ {
				reqs[i].N, reqs[i].Err = m.ReadAt(reqs[i].Buf, reqs[i].Addr)
			}
			return
		}
		j := i
		local, remote := make([]unix.Iovec, 0, iovMax), make([]unix.RemoteIovec, 0, iovMax)
		for ; j < len(reqs) && len(local) < iovMax; j++ {
			r := &reqs[j]
			r.N, r.Err = 0, nil
			if r.Addr+uint64(len(r.Buf)) < r.Addr {
				break // read alone below, which reports it
			}
			if len(r.Buf) == 0 {
				continue
			}
			iov := unix.Iovec{Base: &r.Buf[0]}
			iov.SetLen(len(r.Buf))
			local = append(local, iov)
			remote = append(remote, unix.RemoteIovec{Base: uintptr(r.Addr), Len: len(r.Buf)})
		}
		got := 0
		if len(local) > 0 {
			got, _ = unix.ProcessVMReadv(m.pid, local, remote, 0)
			got = max(got, 0)
		}
		// Credit whole requests; the first one not fully read is redone alone.
		k := i
		for ; k < j && got >= len(reqs[k].Buf); k++ {
			reqs[k].N = len(reqs[k].Buf)
			got -= len(reqs[k].Buf)
		}
		if k < j || k == i {
			reqs[k].N, reqs[k].Err = m.ReadAt(reqs[k].Buf, reqs[k].Addr)
			k++
		}
		i = k
	}
}
