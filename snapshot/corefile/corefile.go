// Package corefile reads an x86-64 Linux ELF core file (kernel core, gdb's
// gcore, systemd-coredump output once decompressed) as a target.Target: its
// threads from NT_PRSTATUS, its mappings from NT_FILE and the PT_LOAD
// segments, its fatal signal from NT_SIGINFO, and its memory spliced from the
// core's segments and local copies of the files it mapped.
package corefile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/pyhang/pyhang/snapshot/target"
)

// Options say where to find the files a core maps when it is read on another
// machine than the one that wrote it.
type Options struct {
	// Exe is the local path of the executable, overriding the one the core
	// names. It replaces the mapped file whose base name is the same as
	// Exe's, or else the file Executable() names.
	Exe string
	// Sysroot prefixes every mapped path: SYSROOT/path, then
	// SYSROOT/basename(path). When it is set, the paths as written in the
	// core are not tried.
	Sysroot string
}

// Core is an opened core file. It implements target.Target; its methods are
// safe for concurrent use.
type Core struct {
	path string
	opts Options
	core io.ReaderAt
	cl   io.Closer

	pid       int
	exe       string // Executable()
	exeTarget string // mapped path that Options.Exe replaces
	threads   []target.Thread
	// namesNoted: pyhang core's note gave every thread its kernel name.
	namesNoted bool
	cwd        string // the working directory pyhang core's note recorded
	sig        *target.SigInfo
	auxv       auxv
	pageSize   uint64
	loads      []prog        // PT_LOAD segments sorted by address
	fileMaps   []fileMapping // NT_FILE entries sorted by address
	files      map[string]*mappedFile
	regions    []region // the spliced address space

	mu            sync.Mutex
	mappings      []target.Mapping // built on first use
	warnings      []string
	missing       []string // what the core lacks that a read needed
	warnedMissing bool
	closed        bool
}

var _ target.Target = (*Core)(nil)

// Open reads the core file at path. Errors wrap ErrNotCore, ErrCompressed,
// ErrWrongMachine, ErrTruncated or ErrCorrupt and read as one line.
func Open(path string, opts Options) (c *Core, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening core: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening core: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		what := "not a regular file"
		if st.IsDir() {
			what = "a directory"
		}
		return nil, notCoreErr("%s is not an ELF core file: it is %s", path, what)
	}
	c, err = newCore(f, st.Size(), path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	c.cl = f
	return c, nil
}

// newCore decodes the core held by r (size bytes). A panic in decoding is a
// bug, but the input is hostile: it becomes an error, never a crash.
func newCore(r io.ReaderAt, size int64, name string, opts Options) (c *Core, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, fmt.Errorf("%s: cannot decode the core (internal error: %v): %w", name, p, ErrCorrupt)
		}
	}()
	c = &Core{path: name, opts: opts, core: r, files: map[string]*mappedFile{}, pageSize: 4096}
	progs, err := readProgs(r, size, name)
	if err != nil {
		return nil, err
	}
	segs, err := readNoteSegments(r, size, name, progs)
	if err != nil {
		return nil, err
	}
	if err := c.decodeNotes(segs); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c.buildRegions(progs, size)
	c.findExecutable()
	return c, nil
}

// Kind is "core".
func (c *Core) Kind() string { return "core" }

// Cwd is the process's working directory when the core was written, as
// the process saw it, from pyhang core's note ("" for other cores).
func (c *Core) Cwd() string { return c.cwd }

// ThreadNamesNoted says whether the core carries every thread's kernel
// name (a core written by pyhang core), not only the main thread's.
func (c *Core) ThreadNamesNoted() bool { return c.namesNoted }

// PID is NT_PRPSINFO's pr_pid, or the first thread's tid without it.
func (c *Core) PID() int { return c.pid }

// Executable is the path of the executable as the process saw it.
func (c *Core) Executable() string { return c.exe }

// Threads lists the threads, the main thread (tid == pid) first and the
// others in note order.
func (c *Core) Threads() []target.Thread {
	out := slices.Clone(c.threads)
	for i := range out {
		if out[i].Regs != nil {
			r := *out[i].Regs
			out[i].Regs = &r
		}
	}
	return out
}

// Signal is the signal that killed the process, nil for a core of a live
// process (gcore) that no signal killed.
func (c *Core) Signal() *target.SigInfo {
	if c.sig == nil {
		return nil
	}
	s := *c.sig
	return &s
}

// Missing says what memory a read needed and the core could not give: a
// snapshot with such holes is incomplete, never proof of health.
func (c *Core) Missing() []string { return slices.Clone(c.missing) }

// Warnings are the non-fatal problems met so far.
func (c *Core) Warnings() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.warnings)
}

func (c *Core) warnf(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// OpenFile opens the local copy of a file the process mapped, applying
// Options.Sysroot and Options.Exe. A missing copy is a *MissingFileError.
func (c *Core) OpenFile(path string) (target.File, error) {
	c.mu.Lock()
	mf := c.files[path]
	if mf == nil {
		// Not mapped (AT_EXECFN may name a symlink NT_FILE resolved): look
		// it up the same way.
		mf = &mappedFile{path: path}
		c.files[path] = mf
	}
	c.mu.Unlock()
	f, err := c.fileFor(mf, false)
	if err != nil {
		return nil, err
	}
	// The caller closes what it gets; the cached file stays open for ReadAt.
	g, err := os.Open(f.Name())
	if err != nil {
		return nil, fmt.Errorf("opening %s for %s: %w", f.Name(), path, err)
	}
	return g, nil
}

// Close closes the core and the mapped files. Safe to call twice.
func (c *Core) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for _, mf := range c.files {
		if mf.f != nil {
			errs = append(errs, mf.f.Close())
			mf.f = nil
		}
	}
	if c.cl != nil {
		errs = append(errs, c.cl.Close())
	}
	return errors.Join(errs...)
}
