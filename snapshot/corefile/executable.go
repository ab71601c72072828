package corefile

import (
	"fmt"
	"path/filepath"
	"sort"
)

// findExecutable names the executable: the file mapped where AT_ENTRY
// points; else the AT_EXECFN string; else the lowest file mapping at offset
// 0 (a non-PIE or PIE executable lies below the libraries); else pr_fname
// is too short to trust and Executable() is "". A program started through
// its dynamic loader (ld-linux.so PROG) has the loader at AT_ENTRY, so the
// loader is then the executable.
func (c *Core) findExecutable() {
	if e, ok := c.auxv[atEntry]; ok {
		if m := c.fileMappingAt(e); m != nil {
			c.exe = m.path
		}
	}
	if c.exe == "" {
		if a, ok := c.auxv[atExecfn]; ok && a != 0 {
			if s, err := c.readCString(a, maxPathLen); err == nil && s != "" {
				c.exe = s
			}
		}
	}
	if c.exe == "" {
		for _, m := range c.fileMaps {
			if m.off == 0 && regularPath(m.path) {
				c.exe = m.path
				break
			}
		}
	}
	c.exeTarget = c.exe
	if c.opts.Exe != "" {
		base := filepath.Base(c.opts.Exe)
		for _, m := range c.fileMaps {
			if filepath.Base(m.path) == base {
				c.exeTarget = m.path
				break
			}
		}
	}
}

// fileMappingAt returns the NT_FILE mapping holding addr, or nil.
func (c *Core) fileMappingAt(addr uint64) *fileMapping {
	i := sort.Search(len(c.fileMaps), func(i int) bool { return c.fileMaps[i].end > addr })
	if i < len(c.fileMaps) && c.fileMaps[i].start <= addr {
		return &c.fileMaps[i]
	}
	return nil
}

// readCString reads a NUL-terminated string of at most max bytes at addr.
func (c *Core) readCString(addr uint64, limit int) (string, error) {
	buf := make([]byte, 0, 64)
	var chunk [64]byte
	for len(buf) < limit {
		n, err := c.ReadAt(chunk[:], addr+uint64(len(buf)))
		for _, b := range chunk[:n] {
			if b == 0 {
				return string(buf), nil
			}
			buf = append(buf, b)
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("string at %#x longer than %d bytes", addr, limit)
}
