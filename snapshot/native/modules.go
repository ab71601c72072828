package native

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/snapshot/elfsym"
	"github.com/pyhang/pyhang/snapshot/target"
)

// Modules is the address space of one process seen as the files it mapped.
// Each file is opened through the target's own view (OpenFile: the target's
// root, --sysroot) the first time an address in it is looked up, and what is
// read from it (symbols, call-frame tables, line tables) is kept for every
// later lookup: only files that appear on some stack are ever read.
type Modules struct {
	open     func(path string) (target.File, error)
	maps     []target.Mapping // sorted by Start
	files    map[string]*module
	images   target.Memory       // where code mapped without a file is read, if anywhere
	rows     map[uint64]*cfiRow  // by code address
	locs     map[locKey]Location // by address and lookup kind
	stack    *stackReader        // the last stack unwound's, its pages kept for the next
	warnings []string
}

type locKey struct {
	addr         uint64
	exact, lines bool
}

// module is one mapped file.
type module struct {
	path  string // as the target saw it
	name  string // its base name, for reports
	files []target.File
	elf   *elfsym.File // the mapped file: its segments and call-frame information
	syms  *elfsym.File // where its symbols are: itself, or its separate debug file when it is stripped
	dwarf *elfsym.File // where its DWARF is, if anywhere
	err   error        // the file could not be read

	eh, debug *cfiTable // .eh_frame, .debug_frame; nil until first needed
	ehIndex   *ehIndex  // .eh_frame_hdr; nil until first needed
	lines     *lineTable
}

// NewModules describes the address space maps; open is the target's
// OpenFile.
func NewModules(maps []target.Mapping, open func(path string) (target.File, error)) *Modules {
	ms := append([]target.Mapping(nil), maps...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Start < ms[j].Start })
	return &Modules{open: open, maps: ms, files: map[string]*module{}, rows: map[uint64]*cfiRow{}, locs: map[locKey]Location{}}
}

// Adopt hands over a file the caller has already parsed (the interpreter's),
// so it is not read twice. The caller keeps owning it.
func (m *Modules) Adopt(path string, f *elfsym.File) {
	if f != nil && m.files[path] == nil {
		mod := &module{path: path, name: moduleName(path), elf: f}
		m.withDebugFile(mod)
		m.files[path] = mod
	}
}

// ImagesFrom sets the memory where code mapped without a file is read: the
// kernel's [vdso], whose ELF image (with its symbols and call-frame
// information) lies in the process's memory. That memory does not change, so
// a live target may be read unstopped.
func (m *Modules) ImagesFrom(mem target.Memory) { m.images = mem }

// maxImage bounds an ELF image read from memory (a vdso is 8 KiB).
const maxImage = 1 << 20

// imageModule returns the module of an ELF image in memory mapping mp, or nil
// when the mapping holds none.
func (m *Modules) imageModule(mp *target.Mapping) *module {
	key := fmt.Sprintf("[memory %#x]", mp.Start)
	if mod, ok := m.files[key]; ok {
		return mod
	}
	m.files[key] = nil
	size := mp.End - mp.Start
	var magic [4]byte
	if m.images == nil || size > maxImage || !strings.Contains(mp.Perms, "x") {
		return nil
	}
	if n, _ := m.images.ReadAt(magic[:], mp.Start); n != 4 || string(magic[:]) != "\x7fELF" {
		return nil
	}
	img := io.NewSectionReader(memoryAt{m.images, mp.Start}, 0, int64(size))
	ef, err := elfsym.Open(img, key)
	if err != nil {
		return nil
	}
	name := mp.Path
	if name == "" {
		name = ef.Soname
	}
	mod := &module{path: key, name: name, elf: ef, syms: ef}
	m.files[key] = mod
	return mod
}

// memoryAt reads target memory at offsets from base.
type memoryAt struct {
	mem  target.Memory
	base uint64
}

func (r memoryAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	return r.mem.ReadAt(p, r.base+uint64(off))
}

// Close closes the files the Modules opened.
func (m *Modules) Close() {
	for _, mod := range m.files {
		if mod == nil {
			continue
		}
		for _, f := range mod.files {
			f.Close()
		}
		mod.files = nil
	}
}

// Warnings are the files that could not be read, once each.
func (m *Modules) Warnings() []string { return m.warnings }

// maxWarnings bounds the warnings about unreadable files.
const maxWarnings = 20

// mapping returns the mapping holding addr.
func (m *Modules) mapping(addr uint64) (*target.Mapping, bool) {
	i := sort.Search(len(m.maps), func(i int) bool { return m.maps[i].End > addr })
	if i < len(m.maps) && m.maps[i].Start <= addr {
		return &m.maps[i], true
	}
	return nil, false
}

// isCode reports whether addr can be a return address: it lies in an
// executable mapping, or in a mapped file (a core made by gcore does not
// always know the permissions of the files' mappings).
func (m *Modules) isCode(addr uint64) bool {
	mp, ok := m.mapping(addr)
	if !ok {
		return false
	}
	return strings.Contains(mp.Perms, "x") || fileBacked(mp.Path)
}

func fileBacked(path string) bool {
	return strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "/dev/") && !strings.HasPrefix(path, "/memfd:") && !strings.HasPrefix(path, "/SYSV")
}

// locate returns the module mapping addr and addr's virtual address in that
// file (as the file's symbols and tables give addresses), or a nil module.
func (m *Modules) locate(addr uint64) (*module, uint64, *target.Mapping) {
	mp, ok := m.mapping(addr)
	if !ok {
		return nil, 0, nil
	}
	var mod *module
	switch {
	case fileBacked(mp.Path):
		mod = m.module(mp.Path)
	case mp.Path == "" || mp.Path == "[vdso]":
		// A core does not name its [vdso]; its ELF header does.
		if mod = m.imageModule(mp); mod == nil {
			return nil, 0, mp
		}
		mp = &target.Mapping{Start: mp.Start, End: mp.End, Perms: mp.Perms, Path: mod.name}
	default:
		return nil, 0, mp
	}
	if mod.err != nil {
		return mod, 0, mp
	}
	va, ok := mod.elf.VAOfOffset(addr - mp.Start + mp.Offset)
	if !ok {
		return mod, 0, mp
	}
	return mod, va, mp
}

// module returns the module for path, opening and parsing it once.
func (m *Modules) module(path string) *module {
	if mod := m.files[path]; mod != nil {
		return mod
	}
	mod := &module{path: path, name: moduleName(path)}
	m.files[path] = mod
	mod.elf, mod.err = m.openELF(mod, path)
	if mod.err != nil {
		if len(m.warnings) < maxWarnings {
			m.warnings = append(m.warnings, fmt.Sprintf("native frames in %s are not symbolised: %v", path, mod.err))
		}
		return mod
	}
	m.withDebugFile(mod)
	return mod
}

func (m *Modules) openELF(mod *module, path string) (*elfsym.File, error) {
	if m.open == nil {
		return nil, fmt.Errorf("opening %s: no view of the target's files", path)
	}
	f, err := m.open(path)
	if err != nil {
		return nil, err
	}
	ef, err := elfsym.Open(f, f.Name())
	if err != nil {
		f.Close()
		return nil, err
	}
	mod.files = append(mod.files, f)
	return ef, nil
}

// debugRoot is where distributions install separate debug files, named by
// build-id (Debian's -dbg and -dbgsym packages, Fedora's debuginfo): read, as
// every file, through the target's own view of its file system.
const debugRoot = "/usr/lib/debug/.build-id/"

// withDebugFile sets where mod's symbols and DWARF are: in the file itself,
// or, for what the file lacks, in its separate debug file when there is one
// with the same build-id (as gdb finds it).
func (m *Modules) withDebugFile(mod *module) {
	mod.syms = mod.elf
	if mod.elf.HasDWARF {
		mod.dwarf = mod.elf
	}
	id := mod.elf.BuildID
	if (!mod.elf.Stripped && mod.elf.HasDWARF) || len(id) < 3 {
		return
	}
	dbg, err := m.openELF(mod, debugRoot+id[:2]+"/"+id[2:]+".debug")
	if err != nil || dbg.BuildID != id {
		return
	}
	if mod.elf.Stripped && !dbg.Stripped {
		mod.syms = dbg
	}
	// Lines come from a debug file only when its DWARF is stored plain: one
	// unit is then read alone, while a compressed .debug_info (as Debian's
	// are) must be inflated whole, 50-70 ms for libc's, more than the rest
	// of a --native snapshot.
	if mod.dwarf == nil && dbg.HasDWARF && !dbg.Compressed(".debug_info") && !dbg.Compressed(".debug_line") {
		mod.dwarf = dbg
	}
}

// moduleName is the file name a report shows for a mapped path.
func moduleName(path string) string {
	return filepath.Base(strings.TrimSuffix(path, " (deleted)"))
}
