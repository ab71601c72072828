package corefile

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// fakeCore describes a synthetic x86-64 core; bytes() lays it out the way
// the kernel does: ELF header, program headers, one PT_NOTE, then the
// PT_LOAD contents.
type fakeCore struct {
	threads []fakeThread
	psPid   int // NT_PRPSINFO pr_pid; no NT_PRPSINFO when 0
	fname   string
	files   []fileMapping // NT_FILE; none when nil
	auxv    [][2]uint64   // NT_AUXV (AT_NULL appended); none when nil
	sig     *fakeSig      // NT_SIGINFO; none when nil
	loads   []fakeLoad
}

type fakeThread struct {
	tid, cursig int
	regs        [27]uint64
}

type fakeSig struct {
	signo, errno, code int
	addr               uint64
}

type fakeLoad struct {
	vaddr, memsz uint64
	flags        elf.ProgFlag
	data         []byte // filesz = len(data)
}

var le = binary.LittleEndian

func prstatusDesc(t fakeThread) []byte {
	d := make([]byte, 336)
	le.PutUint32(d[0:], uint32(t.cursig))
	le.PutUint16(d[prCursigOff:], uint16(t.cursig))
	le.PutUint32(d[prPidOff:], uint32(t.tid))
	for i, r := range t.regs {
		le.PutUint64(d[prRegOff+8*i:], r)
	}
	return d
}

func prpsinfoDesc(pid int, fname string) []byte {
	d := make([]byte, 136)
	le.PutUint32(d[psPidOff:], uint32(pid))
	copy(d[psFnameOff:psFnameOff+15], fname)
	copy(d[psArgsOff:psArgsOff+79], fname)
	return d
}

func siginfoDesc(s fakeSig) []byte {
	d := make([]byte, 128)
	le.PutUint32(d[0:], uint32(s.signo))
	le.PutUint32(d[4:], uint32(s.errno))
	le.PutUint32(d[8:], uint32(s.code))
	le.PutUint64(d[16:], s.addr)
	return d
}

func auxvDesc(av [][2]uint64) []byte {
	var d []byte
	for _, kv := range av {
		d = le.AppendUint64(d, kv[0])
		d = le.AppendUint64(d, kv[1])
	}
	return append(d, make([]byte, 16)...)
}

func ntFileDesc(fs []fileMapping, pageSize uint64) []byte {
	d := le.AppendUint64(nil, uint64(len(fs)))
	d = le.AppendUint64(d, pageSize)
	for _, f := range fs {
		d = le.AppendUint64(d, f.start)
		d = le.AppendUint64(d, f.end)
		d = le.AppendUint64(d, f.off/pageSize)
	}
	for _, f := range fs {
		d = append(append(d, f.path...), 0)
	}
	return d
}

// notes returns the PT_NOTE contents in kernel order.
func (fc *fakeCore) notes() []byte {
	var b []byte
	for i, t := range fc.threads {
		b = appendNote(b, "CORE", ntPRStatus, prstatusDesc(t))
		if i > 0 {
			continue
		}
		if fc.psPid != 0 {
			b = appendNote(b, "CORE", ntPRPSInfo, prpsinfoDesc(fc.psPid, fc.fname))
		}
		if fc.sig != nil {
			b = appendNote(b, "CORE", ntSigInfo, siginfoDesc(*fc.sig))
		}
		if fc.auxv != nil {
			b = appendNote(b, "CORE", ntAuxv, auxvDesc(fc.auxv))
		}
		if fc.files != nil {
			b = appendNote(b, "CORE", ntFile, ntFileDesc(fc.files, 4096))
		}
		b = appendNote(b, "LINUX", 0x202, make([]byte, 8)) // NT_X86_XSTATE stand-in, ignored
	}
	return b
}

func (fc *fakeCore) bytes() []byte {
	notes := fc.notes()
	phnum := 1 + len(fc.loads)
	off := uint64(ehdrSize + phdrSize*phnum)
	b := make([]byte, 0, int(off)+len(notes))
	b = append(b, elf.ELFMAG...)
	b = append(b, byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT))
	b = append(b, make([]byte, 16-len(b))...)
	b = le.AppendUint16(b, uint16(elf.ET_CORE))
	b = le.AppendUint16(b, uint16(elf.EM_X86_64))
	b = le.AppendUint32(b, 1)
	b = le.AppendUint64(b, 0)        // entry
	b = le.AppendUint64(b, ehdrSize) // phoff
	b = le.AppendUint64(b, 0)        // shoff
	b = le.AppendUint32(b, 0)        // flags
	b = le.AppendUint16(b, ehdrSize) // ehsize
	b = le.AppendUint16(b, phdrSize) // phentsize
	b = le.AppendUint16(b, uint16(phnum))
	b = le.AppendUint16(b, shdrSize)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	phdr := func(typ elf.ProgType, flags elf.ProgFlag, off, vaddr, filesz, memsz uint64) {
		b = le.AppendUint32(b, uint32(typ))
		b = le.AppendUint32(b, uint32(flags))
		b = le.AppendUint64(b, off)
		b = le.AppendUint64(b, vaddr)
		b = le.AppendUint64(b, 0)
		b = le.AppendUint64(b, filesz)
		b = le.AppendUint64(b, memsz)
		b = le.AppendUint64(b, 4)
	}
	phdr(elf.PT_NOTE, 0, off, 0, uint64(len(notes)), 0)
	off += uint64(len(notes))
	for _, l := range fc.loads {
		phdr(elf.PT_LOAD, l.flags, off, l.vaddr, uint64(len(l.data)), l.memsz)
		off += uint64(len(l.data))
	}
	b = append(b, notes...)
	for _, l := range fc.loads {
		b = append(b, l.data...)
	}
	return b
}

// write stores the core in dir and returns its path.
func (fc *fakeCore) write(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "core")
	if err := os.WriteFile(p, fc.bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeELF returns a minimal ELF64 shared object of size bytes whose only
// program header is a PT_NOTE holding a GNU build-id (when id is non-nil),
// followed by a PT_LOAD r-x covering [0x1000, size).
func fakeELF(id []byte, size int) []byte {
	b := make([]byte, size)
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS], b[elf.EI_DATA], b[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le.PutUint16(b[16:], uint16(elf.ET_DYN))
	le.PutUint16(b[18:], uint16(elf.EM_X86_64))
	le.PutUint64(b[32:], ehdrSize)
	le.PutUint16(b[54:], phdrSize)
	le.PutUint16(b[56:], 2)
	note := appendNote(nil, "GNU", ntGNUBuildID, id)
	noteOff := uint64(ehdrSize + 2*phdrSize)
	ph := b[ehdrSize:]
	if id != nil {
		le.PutUint32(ph[0:], uint32(elf.PT_NOTE))
	}
	le.PutUint32(ph[4:], uint32(elf.PF_R))
	le.PutUint64(ph[8:], noteOff)
	le.PutUint64(ph[32:], uint64(len(note)))
	ph = ph[phdrSize:]
	le.PutUint32(ph[0:], uint32(elf.PT_LOAD))
	le.PutUint32(ph[4:], uint32(elf.PF_R|elf.PF_X))
	le.PutUint64(ph[8:], 0x1000)
	le.PutUint64(ph[16:], 0x1000)
	le.PutUint64(ph[32:], uint64(size-0x1000))
	le.PutUint64(ph[40:], uint64(size-0x1000))
	copy(b[noteOff:], note)
	// Recognisable bytes after the header page: byte i is i%251.
	for i := 0x1000; i < size; i++ {
		b[i] = byte(i % 251)
	}
	return b
}

func TestFakeCoreRoundTrip(t *testing.T) {
	fc := &fakeCore{
		threads: []fakeThread{{tid: 11, cursig: 11}, {tid: 10}},
		psPid:   10,
		fname:   "python3",
		sig:     &fakeSig{signo: 11, code: 1, addr: 0x18},
		loads:   []fakeLoad{{vaddr: 0x1000, memsz: 0x1000, flags: elf.PF_R | elf.PF_W, data: bytes.Repeat([]byte{7}, 0x1000)}},
	}
	c, err := Open(fc.write(t, t.TempDir()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.PID() != 10 || c.Threads()[0].TID != 10 || c.Threads()[1].TID != 11 {
		t.Errorf("pid %d threads %+v, want pid 10 and main thread 10 first", c.PID(), c.Threads())
	}
	if s := c.Signal(); s == nil || s.Signo != 11 || s.Code != 1 || s.Addr != 0x18 || s.TID != 11 {
		t.Errorf("Signal() = %+v, want SIGSEGV code 1 at 0x18 in thread 11", s)
	}
}
