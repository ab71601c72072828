package corefile

import (
	"errors"
	"fmt"
	"io/fs"
)

// Sentinels wrapped by Open's errors, so that cmd can recognise the kind of
// failure; every error's text is already a complete one-line message.
var (
	// ErrNotCore: the file is empty, is not ELF, or is an ELF file of another type.
	ErrNotCore = errors.New("not an ELF core file")
	// ErrCompressed: a zstd/lz4/xz/gzip-compressed core (systemd-coredump stores these).
	ErrCompressed = errors.New("compressed core")
	// ErrWrongMachine: an ELF core for another architecture, class or byte order.
	ErrWrongMachine = errors.New("not an x86-64 core")
	// ErrTruncated: the core is cut before its notes end, so no thread can be read.
	ErrTruncated = errors.New("truncated core")
	// ErrCorrupt: the core's headers or notes contradict themselves.
	ErrCorrupt = errors.New("corrupt core")
	// ErrMissingFile is wrapped by MissingFileError.
	ErrMissingFile = errors.New("mapped file not found")
)

// notCore is an error that is ErrNotCore, worded in full: its text does
// not end by repeating the sentinel's.
type notCore struct{ msg string }

func (e notCore) Error() string { return e.msg }
func (e notCore) Unwrap() error { return ErrNotCore }

func notCoreErr(format string, args ...any) error { return notCore{fmt.Sprintf(format, args...)} }

// MissingFileError says that a file the core maps is needed (for memory the
// core does not hold, or by OpenFile) and has no local copy.
type MissingFileError struct {
	Path  string   // path as the target saw it
	Addr  uint64   // start of the file's lowest mapping; 0 when the core does not map it
	Tried []string // local paths tried
	Err   error    // the error of the last open attempt
}

func (e *MissingFileError) Error() string {
	what := "not found"
	if e.Err != nil && !errors.Is(e.Err, fs.ErrNotExist) {
		what = fmt.Sprintf("cannot use it (%v)", e.Err)
	}
	where := ""
	if e.Addr != 0 {
		where = fmt.Sprintf(" (mapped at %#x)", e.Addr)
	}
	return fmt.Sprintf("core needs %s%s, %s: copy it next to the core and pass --sysroot DIR, or --exe for the executable",
		e.Path, where, what)
}

// Unwrap lets errors.Is find ErrMissingFile and the underlying open error.
func (e *MissingFileError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrMissingFile}
	}
	return []error{ErrMissingFile, e.Err}
}
