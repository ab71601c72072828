// Package cpython reads the state of a CPython 3.8–3.14 interpreter from the
// memory of a target (a live process or a core): its thread states, their
// frames with exact line numbers, and the objects the later stages care about.
// It knows CPython's layouts and nothing about why a thread is stuck.
package cpython

import (
	"debug/elf"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pyhang/pyhang/snapshot/elfsym"
	"github.com/pyhang/pyhang/snapshot/target"
)

// NotPythonError says no CPython interpreter was found in the target.
type NotPythonError struct {
	Target string
	Reason string
}

func (e *NotPythonError) Error() string {
	return fmt.Sprintf("%s is not a Python process: %s", e.Target, e.Reason)
}

// Process is one interpreter inside a target.
type Process struct {
	Target  target.Target
	Layout  *Layout
	Version Version
	Runtime uint64 // address of _PyRuntime
	Binary  string // the mapped ELF file that defines _PyRuntime (target path)
	Bin     *elfsym.File
	Bias    uint64

	r         *reader
	typeNames map[uint64]string
	// recentTypes holds type names lately looked up, by address bits, in
	// front of typeNames.
	recentTypes [recentTypes]recentType
	codes       map[uint64]*code
	recentCodes [recentCodes]*code // codes lately looked up, by address bits, in front of codes
	exitDefs    map[uint64]bool    // C method definitions: is it an __exit__ (withblocks.go)
	kinds       map[uint64]string  // type address → object kind ("" = not of interest)
	walkTypes   map[uint64]bool    // type address → its objects lead further (Walkable)
	attrs       map[uint64]map[string]uint64
	members     map[uint64][]slotMember // type address → its object members (slots.go)
	scanned     map[uint64]uint64       // futex → lock object found by the heap scan (0: none)
	scanBuf     []byte                  // the heap scan's window
	warnings    []string
	missing     []string
	openWarns   int             // how many of warnings Open gave (kept across Rebind)
	slotBuf     []uint64        // scratch for one frame's value-stack slots
	hdrBuf      [128]byte       // scratch for one frame's header (newFrame)
	oldHdr      []byte          // the same for oldFrame
	frameBuf    []Frame         // where the stacks' frames are carved from (walk)
	varBuf      []Var           // where the frames' locals are carved from (vars)
	keptBuf     []FrameKept     // where what ThreadsEach keeps is carved from (keptOf)
	keptVarBuf  []Var           // where the locals it keeps are copied to (strLocals)
	aioDone     bool            // the asyncio offsets of .AsyncioDebug were looked for (asyncio.go)
	aioWarns    []string        // what looking for them said (kept across Rebind, as Open's)
	aioTypes    map[uint64]bool // types kindOf found to be asyncio's (interest.go)
	stdlib      string          // the standard library's directory (programmodules.go)
	stdlibRead  bool            // stdlib was looked for
	ownModules  map[string]bool // module name → one of the program's own (programmodules.go)
	// ownModuleDicts maps a module object to its dict when it is one of
	// the program's own, to 0 when not (programmodules.go).
	ownModuleDicts map[uint64]uint64
}

// newProcess is the interpreter at runtime in t, read with layout l.
func newProcess(t target.Target, l *Layout, runtime uint64) *Process {
	p := &Process{Target: t, Layout: l, Runtime: runtime, scanned: map[uint64]uint64{}}
	p.Rebind(t)
	return p
}

// maxCandidateFiles bounds how many mapped files are opened looking for the interpreter.
const maxCandidateFiles = 400

// Open finds the interpreter in t and reads its version.
func Open(t target.Target) (*Process, error) {
	bases := fileBases(t.Mappings())
	if len(bases) == 0 {
		return nil, &NotPythonError{Target: describe(t), Reason: "it maps no files"}
	}
	paths := make([]string, 0, len(bases))
	for path := range bases {
		paths = append(paths, path)
	}
	// Look at files whose names say python first; a static interpreter under
	// another name is still found by the full scan.
	sort.Slice(paths, func(i, j int) bool {
		pi, pj := strings.Contains(filepath.Base(paths[i]), "python"), strings.Contains(filepath.Base(paths[j]), "python")
		if pi != pj {
			return pi
		}
		return paths[i] < paths[j]
	})
	var firstErr error
	for i, path := range paths {
		if i >= maxCandidateFiles {
			break
		}
		p, err := tryBinary(t, path, bases[path])
		if err == nil && p != nil {
			return p, nil
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	// An interpreter older than 3.7 has no _PyRuntime: say it is Python,
	// just one pyhang does not read, when its file name tells the version.
	for _, path := range paths {
		if m := anyVersionInName().FindStringSubmatch(filepath.Base(path)); m != nil {
			return nil, &UnsupportedError{Version: m[1] + " (from the name of " + path + ")"}
		}
	}
	return nil, &NotPythonError{Target: describe(t), Reason: "no mapped file defines _PyRuntime (is it a CPython 3.8+ interpreter?)"}
}

func describe(t target.Target) string {
	if t.Kind() == "pid" {
		return fmt.Sprintf("process %d", t.PID())
	}
	return fmt.Sprintf("the process in the core (pid %d)", t.PID())
}

// fileBases maps each mapped file to the address of its offset-0 mapping.
func fileBases(maps []target.Mapping) map[string]uint64 {
	out := map[string]uint64{}
	for _, m := range maps {
		if m.Path == "" || strings.HasPrefix(m.Path, "[") || m.Offset != 0 {
			continue
		}
		if b, ok := out[m.Path]; !ok || m.Start < b {
			out[m.Path] = m.Start
		}
	}
	return out
}

// tryBinary returns (nil, nil) when path has no _PyRuntime.
func tryBinary(t target.Target, path string, base uint64) (*Process, error) {
	f, err := t.OpenFile(path)
	if err != nil {
		if strings.Contains(filepath.Base(path), "python") {
			return nil, err
		}
		return nil, nil
	}
	bin, err := elfsym.Open(f, f.Name())
	if err != nil {
		f.Close()
		return nil, nil
	}
	sym, ok := bin.Lookup("_PyRuntime")
	if !ok {
		f.Close()
		return nil, nil
	}
	var bias uint64
	if bin.Type == elf.ET_DYN {
		bias = base - bin.FirstVA
	}
	p := newProcess(t, nil, sym.Value+bias)
	p.Binary, p.Bin, p.Bias = path, bin, bias
	if err := p.detectVersion(); err != nil {
		return nil, err
	}
	p.openWarns = len(p.warnings)
	return p, nil
}

// The version in a file name; compiled when first needed, as every
// pattern a run may not use (each start-up would pay for it).
var (
	minorInName      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`python3\.(\d+)`) })
	anyVersionInName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`python(\d\.\d+)`) })
)

// detectVersion finds the exact version: _Py_DebugOffsets (3.13+), Py_Version
// (3.11+), else the minor version from the file name or by trying the 3.8–3.10
// layouts, confirmed by sys.hexversion read through that layout.
func (p *Process) detectVersion() error {
	if hdr, ok := p.debugHeader(); ok {
		h := le64(hdr[8:])
		if !plausibleHex(h) {
			return fmt.Errorf("_PyRuntime at %#x: implausible debug-offsets version %#x", p.Runtime, h)
		}
		if ft := le64(hdr[16:]); ft != 0 {
			return &FreeThreadedError{Version: VersionFromHex(h), Binary: p.Binary}
		}
		return p.setVersion(VersionFromHex(h), true)
	}
	if s, ok := p.Bin.Lookup("Py_Version"); ok {
		if b, err := p.Bin.ReadVA(s.Value, 8); err == nil && plausibleHex(le64(b)) {
			return p.setVersion(VersionFromHex(le64(b)), false)
		}
	}
	var minors []int
	if m := minorInName().FindStringSubmatch(filepath.Base(p.Binary)); m != nil {
		n, _ := strconv.Atoi(m[1])
		minors = append(minors, n)
	}
	for _, m := range []int{10, 9, 8} {
		if len(minors) == 0 || minors[0] != m {
			minors = append(minors, m)
		}
	}
	var errs []error
	for _, minor := range minors {
		l, err := LayoutFor(minor)
		if err != nil {
			return err
		}
		p.Layout = l
		h, err := p.hexversion()
		if err == nil && VersionFromHex(h).Minor == minor && plausibleHex(h) {
			return p.setVersion(VersionFromHex(h), false)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("as 3.%d: %w", minor, err))
		}
	}
	return fmt.Errorf("%s defines _PyRuntime but its version could not be read (tried 3.8–3.10 layouts): %w", p.Binary, errors.Join(errs...))
}

func (p *Process) setVersion(v Version, debugOffsets bool) error {
	l, err := ForVersion(v)
	if err != nil {
		return err
	}
	p.Version, p.Layout = v, l
	if debugOffsets {
		if err := p.applyDebugOffsets(); err != nil {
			p.warnf("_Py_DebugOffsets unusable, using built-in 3.%d table: %v", v.Minor, err)
		}
	}
	return nil
}

// hexversion reads sys.hexversion from the main interpreter's sys dict.
func (p *Process) hexversion() (uint64, error) {
	interp, err := p.r.u64(p.Runtime + uint64(p.Layout.RuntimeInterpHead))
	if err != nil {
		return 0, fmt.Errorf("interpreters.head: %w", err)
	}
	sysdict, err := p.r.u64(interp + uint64(p.Layout.InterpSysdict))
	if err != nil {
		return 0, fmt.Errorf("interp %#x sysdict: %w", interp, err)
	}
	v, ok := p.dictGet(sysdict, "hexversion")
	if !ok {
		return 0, fmt.Errorf("sys.hexversion not found in dict at %#x", sysdict)
	}
	h, err := p.smallInt(v)
	return uint64(h), err
}

func (p *Process) warnf(format string, args ...any) {
	if len(p.warnings) < 100 {
		p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
	}
}

// missf records memory a decode needed and could not read: the snapshot is
// then incomplete.
func (p *Process) missf(format string, args ...any) {
	if len(p.missing) < 100 {
		p.missing = append(p.missing, fmt.Sprintf(format, args...))
	}
}

// Missing says what the snapshot lacks (see missf); the last entry says so
// when the snapshot was cut short by its budget.
func (p *Process) Missing() []string {
	if p.r.budget.spent {
		return append(p.missing[:len(p.missing):len(p.missing)], budgetWarning())
	}
	return p.missing
}

// Warnings are the non-fatal problems met reading the interpreter; the last
// says so when the snapshot was cut short by its budget.
func (p *Process) Warnings() []string {
	if p.r.budget.spent {
		return append(p.warnings[:len(p.warnings):len(p.warnings)], budgetWarning())
	}
	return p.warnings
}

// Reads is the number of target memory reads made so far.
func (p *Process) Reads() int { return p.r.reads }

// Rebind points the interpreter found in one view of a process at another view
// of the same process (the stopped one), dropping everything read so far and
// the warnings of that reading, with a fresh budget: the ELF work is done
// once, before the target is stopped.
func (p *Process) Rebind(t target.Target) {
	p.Target = t
	p.r = newReader(t)
	p.warnings = append(p.warnings[:p.openWarns], p.aioWarns...)
	p.clearCaches()
	p.missing = nil // what the first view lacked says nothing of this one
}

// clearCaches drops what was decoded and cached.
func (p *Process) clearCaches() {
	p.typeNames = map[uint64]string{}
	p.recentTypes = [recentTypes]recentType{}
	p.codes = map[uint64]*code{}
	p.recentCodes = [recentCodes]*code{}
	p.exitDefs = map[uint64]bool{}
	p.kinds = map[uint64]string{}
	p.walkTypes = map[uint64]bool{}
	p.ownModules, p.ownModuleDicts = nil, nil
	p.aioTypes = map[uint64]bool{}
	p.attrs = map[uint64]map[string]uint64{}
	p.members = map[uint64][]slotMember{}
}

// Notes marks how many warnings and missing parts the reading so far noted.
type Notes struct{ warnings, missing int }

// Notes returns the mark of the notes so far (see Keep).
func (p *Process) Notes() Notes { return Notes{len(p.warnings), len(p.missing)} }

// Keep points the interpreter at another view of the same process that holds
// the same bytes on every page read so far: the stopped copy of a live
// process, when it matched each page PageData returned and that data was
// whole. What was read and decoded then stands for the new view and is
// kept, with the notes taken up to mark (a decode that stands keeps what it
// noted; the reading after mark is done again) and the budget as spent.
// Pages that were read ahead and never asked for, and pages found
// unreadable, were not compared: they are read again, from t.
func (p *Process) Keep(t target.Target, mark Notes) {
	p.Target = t
	r := p.r
	r.mem = t
	r.src, _ = t.(Pager)
	r.ahead = nil
	for base, pg := range r.pages {
		if pg == nil {
			delete(r.pages, base)
		}
	}
	p.warnings = p.warnings[:min(mark.warnings, len(p.warnings))]
	p.missing = p.missing[:min(mark.missing, len(p.missing))]
}

// PageData returns the pages of target memory read since Open or Rebind, with
// their bytes as read: the working set of a snapshot, to copy while the target
// is stopped. whole says that every byte read so far came from these pages
// (none was read around them or dropped from the cache), so that a decode of
// the same pages repeats exactly what was decoded.
// Release ends p's reading of target memory and hands over the memory the
// pages it read were kept in (a few MiB), for the caller's buffers: what p
// decoded holds copies of what it needed, never the pages themselves, so a
// snapshot built from p stands. Every read through p fails afterwards.
func (p *Process) Release() [][]byte { return p.r.release() }

// Scratch lends the memory the reader reads ahead into (512 KiB, resident
// already), until the next read of target memory: pages read ahead and not
// yet asked for are dropped, to be read again when they are. nil when the
// reader never read ahead.
func (p *Process) Scratch() []byte { return p.r.lendRing() }

func (p *Process) PageData() (pages map[uint64][]byte, whole bool) {
	out := make(map[uint64][]byte, len(p.r.pages))
	for base, pg := range p.r.pages {
		if pg != nil {
			out[base] = pg
		}
	}
	return out, !p.r.partial
}

// Word reads 8 bytes of target memory through the snapshot's page cache, for
// callers that read a field of their own (a wait entry, a glibc thread).
func (p *Process) Word(addr uint64) (uint64, error) { return p.r.u64(addr) }
