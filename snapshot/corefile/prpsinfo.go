package corefile

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// struct elf_prpsinfo on x86-64: four chars, padding, pr_flag, uid, gid, four
// pids, pr_fname[16], pr_psargs[80].
const (
	psPidOff    = 24
	psFnameOff  = 40
	psArgsOff   = 56
	prpsinfoMin = psArgsOff + 80 // 136
)

// prpsinfo is the part of NT_PRPSINFO the snapshot uses. fname and args are
// truncated by the kernel (16 and 80 bytes).
type prpsinfo struct {
	pid   int
	fname string
	args  string
}

func parsePRPSInfo(desc []byte) (prpsinfo, error) {
	if len(desc) < prpsinfoMin {
		return prpsinfo{}, fmt.Errorf("NT_PRPSINFO is %d bytes, want at least %d: %w", len(desc), prpsinfoMin, ErrCorrupt)
	}
	return prpsinfo{
		pid:   int(int32(binary.LittleEndian.Uint32(desc[psPidOff:]))),
		fname: cString(desc[psFnameOff : psFnameOff+16]),
		args:  strings.TrimSpace(cString(desc[psArgsOff : psArgsOff+80])),
	}, nil
}
