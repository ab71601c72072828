package corefile

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// Note types of a Linux process core (include/uapi/linux/elf.h). The ones
// debug/elf names are reused; NT_SIGINFO and NT_FILE it does not define.
const (
	ntPRStatus = uint32(elf.NT_PRSTATUS) // 1
	ntPRPSInfo = uint32(elf.NT_PRPSINFO) // 3
	ntAuxv     = 6
	ntSigInfo  = 0x53494749 // "SIGI"
	ntFile     = 0x46494c45 // "FILE"

	ntGNUBuildID = 3 // in a "GNU" note of an ELF object

	// pyhangNoteName names the notes pyhang core adds; ntThreadNames is
	// the one with every thread's kernel name (Process.threadNamesDesc).
	pyhangNoteName = "PYHANG"
	ntThreadNames  = 1
	ntCwd          = 2 // the process's working directory, as it saw it
	maxCwd         = 4096
	maxThreadName  = 64 // bytes of a name kept (a kernel's comm has 15)
)

const (
	maxNoteDesc  = 64 << 20 // bytes of one note's descriptor
	maxNoteName  = 256      // bytes of one note's name ("CORE", "LINUX", "GNU")
	maxNoteCount = 1 << 20  // notes in the whole core: ~5 per thread
)

// note is one ELF note; desc aliases the segment it was parsed from.
type note struct {
	name string
	typ  uint32
	desc []byte
	off  int // offset of the note header in its segment, for errors
}

// parseNotes splits a PT_NOTE segment into notes. Linux cores align names and
// descriptors to 4 bytes (so does gdb).
func parseNotes(b []byte) ([]note, error) {
	le := binary.LittleEndian
	var notes []note
	off := 0
	for off < len(b) {
		if len(notes) >= maxNoteCount {
			return notes, fmt.Errorf("more than %d notes: %w", maxNoteCount, ErrCorrupt)
		}
		if len(b)-off < 12 {
			// Trailing padding shorter than a header is harmless.
			if allZero(b[off:]) {
				break
			}
			return notes, fmt.Errorf("note header at offset %#x cut after %d bytes: %w", off, len(b)-off, ErrCorrupt)
		}
		namesz := uint64(le.Uint32(b[off:]))
		descsz := uint64(le.Uint32(b[off+4:]))
		typ := le.Uint32(b[off+8:])
		if namesz > maxNoteName {
			return notes, fmt.Errorf("note at offset %#x has a %d-byte name (limit %d): %w", off, namesz, maxNoteName, ErrCorrupt)
		}
		if descsz > maxNoteDesc {
			return notes, fmt.Errorf("note at offset %#x has a %d-byte descriptor (limit %d): %w", off, descsz, maxNoteDesc, ErrCorrupt)
		}
		nameOff := uint64(off) + 12
		descOff := nameOff + align4(namesz)
		end := descOff + align4(descsz)
		if descOff+descsz > uint64(len(b)) {
			return notes, fmt.Errorf("note at offset %#x (type %#x) ends at %#x, beyond its %d-byte segment: %w", off, typ, descOff+descsz, len(b), ErrCorrupt)
		}
		name := b[nameOff : nameOff+namesz]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		notes = append(notes, note{
			name: string(name),
			typ:  typ,
			desc: b[descOff : descOff+descsz : descOff+descsz],
			off:  off,
		})
		if end > uint64(len(b)) {
			break // the last descriptor's padding may be missing
		}
		off = int(end)
	}
	return notes, nil
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// cString returns b up to its first NUL (all of b when there is none).
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// parseThreadNames reads the thread names note: tid (u32), length (u8),
// name, repeated. A cut or overlong record ends it.
func parseThreadNames(b []byte) (map[int]string, error) {
	out := map[int]string{}
	for len(b) > 0 {
		if len(b) < 5 {
			return out, fmt.Errorf("thread names note cut in a record: %w", ErrCorrupt)
		}
		tid, n := int(binary.LittleEndian.Uint32(b)), int(b[4])
		if n > maxThreadName || len(b) < 5+n {
			return out, fmt.Errorf("thread names note: a %d-byte name for tid %d: %w", n, tid, ErrCorrupt)
		}
		out[tid] = string(b[5 : 5+n])
		b = b[5+n:]
	}
	return out, nil
}
