package corefile

import (
	"cmp"
	"debug/elf"
	"slices"
	"sort"

	"github.com/pyhang/pyhang/snapshot/target"
)

// Mappings lists the address space: every NT_FILE mapping, and the parts of
// PT_LOAD segments no file backs (heap, stacks, anonymous memory, [vdso]).
// Permissions come from the PT_LOAD segment at the mapping's start. gcore
// writes no segment for unmodified file mappings (library text); their
// permissions come from the local file's program headers when it is an ELF
// file that can be opened, else they are "r--p" (gcore leaves out only
// mappings that are not writable, and the kernel writes a segment for every
// mapping). gcore also marks PROT_NONE reservations readable. Whether a
// mapping was shared is not recorded in a core: all are "p".
func (c *Core) Mappings() []target.Mapping {
	c.mu.Lock()
	done := c.mappings != nil
	c.mu.Unlock()
	if !done {
		ms := c.buildMappings()
		c.mu.Lock()
		if c.mappings == nil {
			c.mappings = ms
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.mappings)
}

func (c *Core) buildMappings() []target.Mapping {
	ms := make([]target.Mapping, 0, len(c.fileMaps)+len(c.loads))
	var fileRanges []region
	for _, m := range c.fileMaps {
		perms := "r--p"
		if f, ok := c.loadFlags(m.start); ok {
			perms = permString(f)
		} else if f, ok := c.fileFlags(m); ok {
			perms = permString(f)
		}
		ms = append(ms, target.Mapping{Start: m.start, End: m.end, Offset: m.off, Perms: perms, Path: m.path})
		fileRanges = append(fileRanges, region{start: m.start, end: m.end})
	}
	var loads []region
	for _, p := range c.loads {
		loads = append(loads, region{start: p.vaddr, end: p.vaddr + p.memsz})
	}
	for _, r := range subtract(normalize(loads), normalize(fileRanges)) {
		f, _ := c.loadFlags(r.start)
		ms = append(ms, target.Mapping{Start: r.start, End: r.end, Perms: permString(f)})
	}
	slices.SortStableFunc(ms, func(a, b target.Mapping) int { return cmp.Compare(a.Start, b.Start) })
	return ms
}

// loadFlags returns the flags of the PT_LOAD segment holding addr.
func (c *Core) loadFlags(addr uint64) (elf.ProgFlag, bool) {
	i := sort.Search(len(c.loads), func(i int) bool { return c.loads[i].vaddr+c.loads[i].memsz > addr })
	if i < len(c.loads) && c.loads[i].vaddr <= addr {
		return c.loads[i].flags, true
	}
	return 0, false
}

// fileFlags returns the flags of the local file's segment that m maps. A
// missing file is no warning here: nothing needs its bytes yet.
func (c *Core) fileFlags(m fileMapping) (elf.ProgFlag, bool) {
	c.mu.Lock()
	mf := c.files[m.path]
	c.mu.Unlock()
	if mf == nil {
		return 0, false
	}
	f, err := c.fileFor(mf, false)
	if err != nil {
		return 0, false
	}
	st, err := f.Stat()
	if err != nil {
		return 0, false
	}
	progs, err := imageProgs(f, uint64(st.Size()))
	if err != nil {
		return 0, false
	}
	return loadFlagsAt(progs, m.off, c.pageSize)
}

func permString(f elf.ProgFlag) string {
	b := []byte("---p")
	if f&elf.PF_R != 0 {
		b[0] = 'r'
	}
	if f&elf.PF_W != 0 {
		b[1] = 'w'
	}
	if f&elf.PF_X != 0 {
		b[2] = 'x'
	}
	return string(b)
}
