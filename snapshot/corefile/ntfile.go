package corefile

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

const (
	maxFileEntries = 100000 // NT_FILE entries; vm.max_map_count defaults to 65530
	maxPathLen     = 4096   // PATH_MAX, plus the " (deleted)" suffix fits in any real one
)

// fileMapping is one NT_FILE entry: [start, end) maps path from offset off.
type fileMapping struct {
	start, end, off uint64
	path            string
}

// parseNTFile decodes NT_FILE: count, page size, count (start, end, page
// offset) triples, then count NUL-terminated paths.
func parseNTFile(desc []byte) ([]fileMapping, error) {
	le := binary.LittleEndian
	if len(desc) < 16 {
		return nil, fmt.Errorf("NT_FILE is %d bytes, too short for its header: %w", len(desc), ErrCorrupt)
	}
	count, pageSize := le.Uint64(desc), le.Uint64(desc[8:])
	if count > maxFileEntries {
		return nil, fmt.Errorf("NT_FILE claims %d mappings (limit %d): %w", count, maxFileEntries, ErrCorrupt)
	}
	if pageSize == 0 || pageSize&(pageSize-1) != 0 || pageSize > 1<<30 {
		return nil, fmt.Errorf("NT_FILE has page size %#x: %w", pageSize, ErrCorrupt)
	}
	strOff := 16 + count*24
	if strOff > uint64(len(desc)) {
		return nil, fmt.Errorf("NT_FILE of %d bytes cannot hold %d mappings: %w", len(desc), count, ErrCorrupt)
	}
	strs := desc[strOff:]
	maps := make([]fileMapping, count)
	for i := range maps {
		e := desc[16+24*i:]
		m := fileMapping{start: le.Uint64(e), end: le.Uint64(e[8:])}
		pgoff := le.Uint64(e[16:])
		if m.end <= m.start {
			return nil, fmt.Errorf("NT_FILE mapping %d is [%#x, %#x): %w", i, m.start, m.end, ErrCorrupt)
		}
		if pgoff > (^uint64(0))/pageSize {
			return nil, fmt.Errorf("NT_FILE mapping %d at %#x has page offset %#x: %w", i, m.start, pgoff, ErrCorrupt)
		}
		m.off = pgoff * pageSize
		j := bytes.IndexByte(strs[:min(len(strs), maxPathLen+1)], 0)
		if j < 0 {
			if len(strs) > maxPathLen {
				return nil, fmt.Errorf("NT_FILE path %d is longer than %d bytes: %w", i, maxPathLen, ErrCorrupt)
			}
			return nil, fmt.Errorf("NT_FILE has %d paths for %d mappings: %w", i, count, ErrCorrupt)
		}
		m.path = string(strs[:j])
		strs = strs[j+1:]
		maps[i] = m
	}
	return maps, nil
}
