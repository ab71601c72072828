package corefile

import (
	"encoding/binary"
	"time"

	"github.com/pyhang/pyhang/snapshot/target"
)

// Process is what the notes of a written core say about the process.
type Process struct {
	PID, PPID, PGRP, SID int
	UID, GID             int
	State                byte   // the /proc state letter of the process
	Nice                 int    // its nice value
	Name                 string // its command name (at most 15 bytes are kept)
	Args                 string // its command line, arguments joined by spaces (80 bytes kept)
	// Threads come in note order: the first is the thread the core is
	// about (the one that took Signal, else the main thread).
	Threads []Thread
	// Signal is written as NT_SIGINFO after the first thread's NT_PRSTATUS:
	// the signal that thread was about to take. Nil writes none.
	Signal *target.SigInfo
	Auxv   []byte           // NT_AUXV as /proc/PID/auxv gives it
	Files  []target.Mapping // every file mapping, for NT_FILE
	// Cwd is the working directory, written in a PYHANG note ("" writes
	// none): a relative source path is resolved against it.
	Cwd string
}

// Thread is one thread's NT_PRSTATUS (and its name, in the PYHANG note).
type Thread struct {
	TID          int
	Name         string // its kernel name (comm), "" for none
	Regs         target.Regs
	Cursig       int    // the signal it stopped for, 0 for none
	Pending      uint64 // its pending signals (bit n-1 for signal n)
	Blocked      uint64 // its blocked signals
	UTime, STime time.Duration
}

// Sizes of the notes' descriptors on x86-64 (what the kernel writes).
const (
	prstatusSize = 336
	siginfoSize  = 128
)

func (p *Process) notes() []byte {
	var b []byte
	for i, t := range p.Threads {
		b = appendCoreNote(b, ntPRStatus, p.prstatus(&t))
		if i > 0 {
			continue
		}
		b = appendCoreNote(b, ntPRPSInfo, p.prpsinfo())
		if p.Signal != nil {
			b = appendCoreNote(b, ntSigInfo, sigInfoDesc(p.Signal))
		}
		if len(p.Auxv) > 0 {
			b = appendCoreNote(b, ntAuxv, p.Auxv)
		}
		if len(p.Files) > 0 {
			b = appendCoreNote(b, ntFile, fileNoteDesc(p.Files))
		}
	}
	if desc := p.threadNamesDesc(); desc != nil {
		b = appendNote(b, pyhangNoteName, ntThreadNames, desc)
	}
	if p.Cwd != "" && len(p.Cwd) <= maxCwd {
		b = appendNote(b, pyhangNoteName, ntCwd, []byte(p.Cwd))
	}
	return b
}

// threadNamesDesc lays out the thread names note: for each thread with a
// name, its tid (u32), the name's length (u8) and the name's bytes. No
// kernel note carries the names of threads other than the main one.
func (p *Process) threadNamesDesc() []byte {
	var b []byte
	for _, t := range p.Threads {
		if t.Name == "" {
			continue
		}
		name := t.Name[:min(len(t.Name), maxThreadName)]
		b = binary.LittleEndian.AppendUint32(b, uint32(t.TID))
		b = append(b, byte(len(name)))
		b = append(b, name...)
	}
	return b
}

// appendCoreNote appends one note named "CORE", padded as the kernel pads it.
func appendCoreNote(b []byte, typ uint32, desc []byte) []byte {
	return appendNote(b, "CORE", typ, desc)
}

// appendNote appends one note, its name and descriptor padded to 4 bytes.
func appendNote(b []byte, name string, typ uint32, desc []byte) []byte {
	le := binary.LittleEndian
	b = le.AppendUint32(b, uint32(len(name)+1))
	b = le.AppendUint32(b, uint32(len(desc)))
	b = le.AppendUint32(b, typ)
	b = append(b, name...)
	b = append(b, 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, desc...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// prstatus lays out struct elf_prstatus (see prstatus.go for the offsets).
func (p *Process) prstatus(t *Thread) []byte {
	le := binary.LittleEndian
	d := make([]byte, prstatusSize)
	le.PutUint32(d[0:], uint32(t.Cursig)) // pr_info.si_signo
	le.PutUint16(d[prCursigOff:], uint16(t.Cursig))
	le.PutUint64(d[16:], t.Pending)
	le.PutUint64(d[24:], t.Blocked)
	le.PutUint32(d[prPidOff:], uint32(t.TID))
	le.PutUint32(d[prPidOff+4:], uint32(p.PPID))
	le.PutUint32(d[prPidOff+8:], uint32(p.PGRP))
	le.PutUint32(d[prPidOff+12:], uint32(p.SID))
	putTimeval(d[48:], t.UTime)
	putTimeval(d[64:], t.STime)
	w := wordsOf(&t.Regs)
	for i, v := range w {
		le.PutUint64(d[prRegOff+8*i:], v)
	}
	le.PutUint32(d[prRegOff+userRegsSize:], 0) // pr_fpvalid: no NT_FPREGSET is written
	return d
}

func putTimeval(b []byte, d time.Duration) {
	binary.LittleEndian.PutUint64(b, uint64(d/time.Second))
	binary.LittleEndian.PutUint64(b[8:], uint64(d%time.Second/time.Microsecond))
}

// prpsinfo lays out struct elf_prpsinfo (see prpsinfo.go).
func (p *Process) prpsinfo() []byte {
	le := binary.LittleEndian
	d := make([]byte, prpsinfoMin)
	state := p.State
	d[0] = stateNumber(state)
	d[1] = state
	if state == 'Z' {
		d[2] = 1
	}
	d[3] = byte(int8(p.Nice))
	le.PutUint32(d[16:], uint32(p.UID))
	le.PutUint32(d[20:], uint32(p.GID))
	le.PutUint32(d[psPidOff:], uint32(p.PID))
	le.PutUint32(d[psPidOff+4:], uint32(p.PPID))
	le.PutUint32(d[psPidOff+8:], uint32(p.PGRP))
	le.PutUint32(d[psPidOff+12:], uint32(p.SID))
	copy(d[psFnameOff:psFnameOff+15], p.Name)
	copy(d[psArgsOff:psArgsOff+79], p.Args)
	return d
}

// stateNumber is pr_state: the index of the state letter in the kernel's
// "RSDTZW" order (fs/binfmt_elf.c fill_psinfo).
func stateNumber(c byte) byte {
	for i, s := range []byte("RSDTZW") {
		if s == c {
			return byte(i)
		}
	}
	return 0
}

// sigInfoDesc lays out siginfo_t: si_signo, si_errno, si_code, and for a
// fault the kernel raised, si_addr.
func sigInfoDesc(s *target.SigInfo) []byte {
	le := binary.LittleEndian
	d := make([]byte, siginfoSize)
	le.PutUint32(d[0:], uint32(s.Signo))
	le.PutUint32(d[4:], uint32(s.Errno))
	le.PutUint32(d[8:], uint32(s.Code))
	switch s.Signo {
	case sigSEGV, sigBUS, sigILL, sigFPE, sigTRAP:
		if s.Code > 0 {
			le.PutUint64(d[siAddrOff:], s.Addr)
		}
	}
	if s.Code <= 0 && s.Sender > 0 {
		le.PutUint32(d[siPIDOff:], uint32(s.Sender)) // a signal a process sent: its pid
	}
	return d
}

// fileNoteDesc lays out NT_FILE: count, page size, (start, end, page offset)
// per mapping, then the paths, each ended by a NUL.
func fileNoteDesc(files []target.Mapping) []byte {
	le := binary.LittleEndian
	b := le.AppendUint64(nil, uint64(len(files)))
	b = le.AppendUint64(b, writePage)
	for _, m := range files {
		b = le.AppendUint64(b, m.Start)
		b = le.AppendUint64(b, m.End)
		b = le.AppendUint64(b, m.Offset/writePage)
	}
	for _, m := range files {
		b = append(b, m.Path...)
		b = append(b, 0)
	}
	return b
}
