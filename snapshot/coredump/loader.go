package coredump

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pyhang/pyhang/snapshot/elfsym"
	"github.com/pyhang/pyhang/snapshot/target"
)

// gdb finds a core's shared libraries the way it finds a live process's:
// the executable's DT_DEBUG entry points at the dynamic loader's r_debug,
// whose r_map heads the list of struct link_map, one per loaded object, with
// its load address and path (glibc elf/link.h). Those structures live in
// writable memory a snapshot does not read, so a core keeps their pages.

// Auxiliary vector keys (include/uapi/linux/auxvec.h).
const (
	atPhdr  = 3
	atPhent = 4
	atPhnum = 5
)

// Bounds on the loader's structures, which come from the target.
const (
	maxPhnum    = 256
	maxDynamic  = 1024 // entries of a dynamic section
	maxLinkMaps = 4096
	maxPathLen  = 4096
)

func auxvOf(b []byte) map[uint64]uint64 {
	a := map[uint64]uint64{}
	for i := 0; i+16 <= len(b); i += 16 {
		k, v := binary.LittleEndian.Uint64(b[i:]), binary.LittleEndian.Uint64(b[i+8:])
		if k == 0 {
			break
		}
		if _, dup := a[k]; !dup {
			a[k] = v
		}
	}
	return a
}

// pageSet collects the pages of the ranges read.
type pageSet map[uint64]bool

func (s pageSet) add(addr, n uint64) {
	for a := addr &^ (page - 1); a < addr+n; a += page {
		s[a] = true
	}
}

// loaderPages reads, from the running target, the pages gdb reads to list
// the shared libraries: the executable's program headers and dynamic
// section, r_debug, and each link_map with its path.
func loaderPages(t target.Target, auxv map[uint64]uint64) ([]uint64, error) {
	pages := pageSet{}
	rdebug, err := debugFromExecutable(t, auxv, pages)
	if rdebug == 0 {
		// A program started by its loader (ld.so PROG) has the loader's
		// headers in the auxiliary vector: find r_debug by its symbol.
		var err2 error
		if rdebug, err2 = debugFromLoader(t); rdebug == 0 {
			return pages.list(), errors.Join(err, err2)
		}
	}
	err = linkMapPages(t, rdebug, pages)
	return pages.list(), err
}

func (s pageSet) list() []uint64 {
	out := make([]uint64, 0, len(s))
	for a := range s {
		out = append(out, a)
	}
	return out
}

// debugFromExecutable finds r_debug through the executable's DT_DEBUG, as
// gdb does, noting the pages it reads.
func debugFromExecutable(m target.Memory, auxv map[uint64]uint64, pages pageSet) (uint64, error) {
	phdr, phnum := auxv[atPhdr], auxv[atPhnum]
	if phdr == 0 || phnum == 0 || phnum > maxPhnum || auxv[atPhent] != 56 {
		return 0, errors.New("the auxiliary vector names no program headers")
	}
	table := make([]byte, phnum*56)
	if err := target.ReadFull(m, table, phdr); err != nil {
		return 0, fmt.Errorf("program headers: %w", err)
	}
	pages.add(phdr, uint64(len(table)))
	le := binary.LittleEndian
	var bias, dyn, dynSize uint64
	var haveBias bool
	for i := uint64(0); i < phnum; i++ {
		h := table[i*56:]
		switch elf.ProgType(le.Uint32(h)) {
		case elf.PT_PHDR:
			bias, haveBias = phdr-le.Uint64(h[16:]), true
		case elf.PT_DYNAMIC:
			dyn, dynSize = le.Uint64(h[16:]), le.Uint64(h[40:])
		}
	}
	if dyn == 0 {
		return 0, errors.New("the executable has no dynamic section (a static executable)")
	}
	if !haveBias {
		return 0, errors.New("the executable has no PT_PHDR to place it by")
	}
	dyn += bias
	n := min(dynSize/16, maxDynamic)
	entries := make([]byte, n*16)
	if err := target.ReadFull(m, entries, dyn); err != nil {
		return 0, fmt.Errorf("dynamic section: %w", err)
	}
	pages.add(dyn, uint64(len(entries)))
	var rdebug uint64
	for i := uint64(0); i < n; i++ {
		tag, val := elf.DynTag(le.Uint64(entries[i*16:])), le.Uint64(entries[i*16+8:])
		if tag == elf.DT_NULL {
			break
		}
		if tag == elf.DT_DEBUG {
			rdebug = val
		}
	}
	if rdebug == 0 {
		return 0, errors.New("DT_DEBUG is not set (no dynamic loader ran the executable)")
	}
	return rdebug, nil
}

// debugFromLoader finds r_debug by the dynamic loader's symbol _r_debug.
func debugFromLoader(t target.Target) (uint64, error) {
	for _, mp := range t.Mappings() {
		base := filepath.Base(mp.Path)
		if mp.Offset != 0 || !strings.HasPrefix(base, "ld-") || !strings.Contains(base, ".so") {
			continue
		}
		f, err := t.OpenFile(mp.Path)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		ef, err := elfsym.Open(f, f.Name())
		if err != nil {
			return 0, err
		}
		sym, ok := ef.Lookup("_r_debug")
		if !ok {
			return 0, fmt.Errorf("%s defines no _r_debug", mp.Path)
		}
		return mp.Start - ef.FirstVA + sym.Value, nil
	}
	return 0, errors.New("no dynamic loader is mapped")
}

// linkMapPages notes the pages of r_debug and of every link_map on its list,
// with the path each names.
func linkMapPages(m target.Memory, rdebug uint64, pages pageSet) error {
	le := binary.LittleEndian
	// struct r_debug: int r_version; struct link_map *r_map; r_brk; r_state; r_ldbase.
	var rd [40]byte
	if err := target.ReadFull(m, rd[:], rdebug); err != nil {
		return fmt.Errorf("r_debug: %w", err)
	}
	pages.add(rdebug, uint64(len(rd)))
	// struct link_map: l_addr, l_name, l_ld, l_next, l_prev.
	seen := map[uint64]bool{}
	for lm := le.Uint64(rd[8:]); lm != 0 && !seen[lm] && len(seen) < maxLinkMaps; {
		seen[lm] = true
		var l [40]byte
		if err := target.ReadFull(m, l[:], lm); err != nil {
			return fmt.Errorf("link_map at %#x: %w", lm, err)
		}
		pages.add(lm, uint64(len(l)))
		if name := le.Uint64(l[8:]); name != 0 {
			pages.add(name, cStringLen(m, name))
		}
		if ld := le.Uint64(l[16:]); ld != 0 {
			pages.add(ld, 16)
		}
		lm = le.Uint64(l[24:])
	}
	return nil
}

// cStringLen is the length, with its NUL, of the string at addr (bounded).
func cStringLen(m target.Memory, addr uint64) uint64 {
	var chunk [256]byte
	for n := uint64(0); n < maxPathLen; n += uint64(len(chunk)) {
		k, _ := m.ReadAt(chunk[:], addr+n)
		for i := 0; i < k; i++ {
			if chunk[i] == 0 {
				return n + uint64(i) + 1
			}
		}
		if k < len(chunk) {
			return n + uint64(k)
		}
	}
	return maxPathLen
}
