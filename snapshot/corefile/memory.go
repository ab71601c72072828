package corefile

import (
	"cmp"
	"debug/elf"
	"fmt"
	"slices"
	"sort"

	"github.com/pyhang/pyhang/snapshot/target"
)

// ReadAt reads target memory at addr through the splice. It may cross
// region boundaries; it stops short, with an error wrapping
// target.ErrUnreadable, at an address no region covers, at a file-backed
// region whose file has no local copy (the error then also wraps
// *MissingFileError), or past the end of a mapped file.
func (c *Core) ReadAt(p []byte, addr uint64) (int, error) {
	return c.read(p, addr, false, true)
}

// ReadAhead is ReadAt for bytes read ahead of need (target.AheadReader): a
// mapped file it cannot read is not noted missing.
func (c *Core) ReadAhead(p []byte, addr uint64) (int, error) {
	return c.read(p, addr, false, false)
}

// read implements ReadAt; with coreOnly it reads only bytes the core itself
// holds (used to compare a file with the core's copy of it) and never takes
// c.mu. need says the caller needs the bytes: a mapped file without a local
// copy is then noted missing.
func (c *Core) read(p []byte, addr uint64, coreOnly, need bool) (int, error) {
	n := 0
	for n < len(p) {
		a := addr + uint64(n)
		if a < addr {
			return n, fmt.Errorf("reading %#x: %w: the read wraps past the top of the address space", addr, target.ErrUnreadable)
		}
		i := sort.Search(len(c.regions), func(i int) bool { return c.regions[i].end > a })
		if i == len(c.regions) || c.regions[i].start > a {
			return n, fmt.Errorf("reading %#x: %w: %#x is not in the core or any mapped file", addr, target.ErrUnreadable, a)
		}
		r := c.regions[i]
		want := min(uint64(len(p)-n), r.end-a)
		off := r.off + (a - r.start)
		if off+want < off || off+want > 1<<63 {
			return n, fmt.Errorf("reading %#x: %w: region offset %#x out of range", addr, target.ErrUnreadable, off)
		}
		buf := p[n : n+int(want)]
		if r.file == nil {
			m, err := c.core.ReadAt(buf, int64(off))
			n += m
			if m < len(buf) {
				return n, fmt.Errorf("reading %#x: %w: the core is truncated: it ends before offset %#x: %v", addr, target.ErrUnreadable, off+uint64(m), err)
			}
			continue
		}
		if coreOnly {
			return n, fmt.Errorf("reading %#x: %w: %#x is not in the core (only in %s)", addr, target.ErrUnreadable, a, r.file.path)
		}
		f, err := c.fileFor(r.file, need)
		if err != nil {
			return n, fmt.Errorf("reading %#x: %w: %w", addr, target.ErrUnreadable, err)
		}
		m, err := f.ReadAt(buf, int64(off))
		n += m
		if m < len(buf) {
			return n, fmt.Errorf("reading %#x: %w: %s (for %s) ends before offset %#x: %v", addr, target.ErrUnreadable, f.Name(), r.file.path, off+uint64(m), err)
		}
	}
	return n, nil
}

// buildRegions splices the core's PT_LOAD contents over the NT_FILE mappings
// and warns when the core is cut short of its segments.
func (c *Core) buildRegions(progs []prog, size int64) {
	var want, have uint64
	var over []region
	for _, p := range progs {
		if p.typ != elf.PT_LOAD || p.memsz == 0 || p.vaddr+p.memsz < p.vaddr {
			continue
		}
		c.loads = append(c.loads, p)
		fsz := min(p.filesz, p.memsz)
		present := uint64(0)
		if p.off < uint64(size) {
			present = min(fsz, uint64(size)-p.off)
		}
		want += fsz
		have += present
		if fsz > 0 {
			// Also the part a truncated core lost: it stays a core region, so a
			// read fails saying the core is cut short, instead of falling back
			// to the mapped file's stale initial contents (a data segment).
			over = append(over, region{start: p.vaddr, end: p.vaddr + fsz, off: p.off})
		}
	}
	slices.SortStableFunc(c.loads, func(a, b prog) int {
		return cmp.Compare(a.vaddr, b.vaddr)
	})
	if have < want {
		c.warnf("core truncated: %d of %d bytes of memory present", have, want)
		c.missing = append(c.missing, fmt.Sprintf("the core is truncated (%d of %d bytes of memory present)", have, want))
	}

	slices.SortStableFunc(c.fileMaps, func(a, b fileMapping) int { return cmp.Compare(a.start, b.start) })
	var under []region
	for _, m := range c.fileMaps {
		mf := c.files[m.path]
		if mf == nil {
			mf = &mappedFile{path: m.path, addr: m.start}
			c.files[m.path] = mf
		}
		if m.off == 0 && mf.headLen == 0 {
			mf.headAddr, mf.headLen = m.start, m.end-m.start
		}
		under = append(under, region{start: m.start, end: m.end, off: m.off, file: mf})
	}
	c.regions = spliceRegions(under, over)
}
