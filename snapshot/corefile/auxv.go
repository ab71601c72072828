package corefile

import (
	"encoding/binary"
	"fmt"
)

// Auxiliary vector keys (include/uapi/linux/auxvec.h).
const (
	atNull   = 0
	atPhdr   = 3
	atPagesz = 6
	atBase   = 7
	atEntry  = 9
	atExecfn = 31
)

const maxAuxv = 4096 // the kernel writes about 30 pairs

// auxv maps auxiliary vector keys to values (the first value of a repeated key wins).
type auxv map[uint64]uint64

// parseAuxv decodes NT_AUXV: (key, value) words up to AT_NULL.
func parseAuxv(desc []byte) (auxv, error) {
	if len(desc)%16 != 0 {
		return nil, fmt.Errorf("NT_AUXV is %d bytes, not a whole number of 16-byte entries: %w", len(desc), ErrCorrupt)
	}
	le := binary.LittleEndian
	a := auxv{}
	for i := 0; i+16 <= len(desc); i += 16 {
		if i/16 >= maxAuxv {
			return nil, fmt.Errorf("NT_AUXV has more than %d entries: %w", maxAuxv, ErrCorrupt)
		}
		k, v := le.Uint64(desc[i:]), le.Uint64(desc[i+8:])
		if k == atNull {
			break
		}
		if _, dup := a[k]; !dup {
			a[k] = v
		}
	}
	return a, nil
}
