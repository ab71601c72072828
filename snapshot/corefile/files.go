package corefile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// mappedFile is one file named in NT_FILE, opened on first need and kept
// open until Close.
type mappedFile struct {
	path     string // as the target saw it
	addr     uint64 // start of its lowest mapping
	headAddr uint64 // start of its lowest offset-0 mapping, where its ELF header lies
	headLen  uint64 // length of that mapping; 0 when there is none

	tried bool
	f     *os.File
	local string
	err   error // *MissingFileError once an open failed
}

const deletedSuffix = " (deleted)"

// regularPath reports whether a mapped path can name a regular file with a
// local copy. Shared anonymous memory (/dev/zero, SysV shm), memfds and
// devices have none: their bytes are in the core or nowhere, and opening a
// device or FIFO a hostile core names could block.
func regularPath(p string) bool {
	switch {
	case !strings.HasPrefix(p, "/"),
		strings.HasPrefix(p, "/dev/"),
		strings.HasPrefix(p, "/memfd:"),
		strings.HasPrefix(p, "/SYSV"),
		strings.HasPrefix(p, "/proc/"),
		strings.HasPrefix(p, "/sys/"):
		return false
	}
	return true
}

// candidates lists the local paths tried for the mapped path p, in order:
// --exe for the executable; else, with a sysroot, SYSROOT/p and then
// SYSROOT/basename(p) (so files copied next to the core are found with
// --sysroot set to the core's folder); else p itself. A path the kernel
// marked " (deleted)" is tried without the suffix too.
func (c *Core) candidates(p string) []string {
	if c.opts.Exe != "" && p == c.exeTarget {
		return []string{c.opts.Exe}
	}
	names := []string{p}
	if s, ok := strings.CutSuffix(p, deletedSuffix); ok && s != "" {
		names = append(names, s)
	}
	if c.opts.Sysroot == "" {
		return names
	}
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(c.opts.Sysroot, n))
	}
	for _, n := range names {
		out = append(out, filepath.Join(c.opts.Sysroot, filepath.Base(n)))
	}
	return out
}

// openLocal opens the first candidate that is a regular file.
func openLocal(cands []string) (*os.File, error) {
	err := error(os.ErrNotExist)
	for _, name := range cands {
		st, serr := os.Stat(name)
		if serr != nil {
			if !errors.Is(serr, os.ErrNotExist) {
				err = serr
			}
			continue
		}
		if !st.Mode().IsRegular() {
			err = fmt.Errorf("%s is not a regular file", name)
			continue
		}
		f, oerr := os.Open(name)
		if oerr != nil {
			err = oerr
			continue
		}
		return f, nil
	}
	return nil, err
}

// fileFor returns the open local copy of mf. The first time a copy is missing
// and warn is set (a memory read needed it), the miss also becomes a warning.
func (c *Core) fileFor(mf *mappedFile, warn bool) (*os.File, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("core %s is closed: %w", c.path, os.ErrClosed)
	}
	if !mf.tried {
		mf.tried = true
		c.openMapped(mf)
	}
	if mf.err != nil {
		if warn && !c.warnedMissing {
			c.warnedMissing = true
			c.warnings = append(c.warnings, mf.err.Error())
			c.missing = append(c.missing, "memory of a mapped file the core lacks: "+mf.err.Error())
		}
		return nil, mf.err
	}
	return mf.f, nil
}

// openMapped opens mf's local copy and checks its build-id against the core's
// copy of the file's first page. Called with c.mu held.
func (c *Core) openMapped(mf *mappedFile) {
	miss := &MissingFileError{Path: mf.path, Addr: mf.addr}
	if !regularPath(mf.path) {
		miss.Err = fmt.Errorf("%s is not a regular file", mf.path)
		mf.err = miss
		return
	}
	miss.Tried = c.candidates(mf.path)
	f, err := openLocal(miss.Tried)
	if err != nil {
		miss.Err = err
		mf.err = miss
		return
	}
	mf.f, mf.local = f, f.Name()
	c.checkBuildID(mf)
}

// checkBuildID warns when the local copy of mf is not the file the process
// mapped. It needs the object's first page in the core (kernel cores and
// gcore keep it); without it nothing is compared.
func (c *Core) checkBuildID(mf *mappedFile) {
	if mf.headLen == 0 {
		return
	}
	coreID, err := imageBuildID(memImage{c, mf.headAddr}, mf.headLen)
	if err != nil {
		return
	}
	st, err := mf.f.Stat()
	if err != nil {
		return
	}
	fileID, err := imageBuildID(mf.f, uint64(st.Size()))
	if err != nil {
		c.warnings = append(c.warnings, fmt.Sprintf("build-id mismatch for %s: core has %s, file has none (%v; local copy %s)", mf.path, coreID, err, mf.local))
		return
	}
	if fileID != coreID {
		c.warnings = append(c.warnings, fmt.Sprintf("build-id mismatch for %s: core has %s, file has %s (local copy %s)", mf.path, coreID, fileID, mf.local))
	}
}
