package corefile

import (
	"encoding/binary"
	"fmt"

	"github.com/pyhang/pyhang/snapshot/target"
)

// decodeNotes fills threads, signal, pid, auxv and file mappings from the
// notes. Damage to notes other than NT_PRSTATUS costs a warning; a core with
// no readable thread is an error.
func (c *Core) decodeNotes(segs [][]byte) error {
	var (
		ps       []prstatus
		psinfo   *prpsinfo
		sig      *siginfo
		sigAfter = -1 // index in ps of the NT_PRSTATUS before the NT_SIGINFO
		haveFile bool
		byGDB    bool           // gdb's gcore adds notes of its own (NT_GDB_TDESC)
		names    map[int]string // every thread's, from pyhang core's note
	)
	for _, seg := range segs {
		notes, perr := parseNotes(seg)
		for _, n := range notes {
			if n.name == "GDB" {
				byGDB = true
			}
			if n.name == pyhangNoteName && n.typ == ntCwd && c.cwd == "" && len(n.desc) <= maxCwd {
				c.cwd = string(n.desc)
				continue
			}
			if n.name == pyhangNoteName && n.typ == ntThreadNames && names == nil {
				var err error
				if names, err = parseThreadNames(n.desc); err != nil {
					c.warnf("note at offset %#x: %v", n.off, err)
				}
				continue
			}
			if n.name != "CORE" {
				continue
			}
			switch n.typ {
			case ntPRStatus:
				p, err := parsePRStatus(n.desc)
				if err != nil {
					c.warnf("note at offset %#x: %v", n.off, err)
					continue
				}
				ps = append(ps, p)
			case ntPRPSInfo:
				if psinfo != nil {
					continue
				}
				p, err := parsePRPSInfo(n.desc)
				if err != nil {
					c.warnf("note at offset %#x: %v", n.off, err)
					continue
				}
				psinfo = &p
			case ntSigInfo:
				if sig != nil {
					continue
				}
				s, err := parseSigInfo(n.desc)
				if err != nil {
					c.warnf("note at offset %#x: %v", n.off, err)
					continue
				}
				// gcore writes one NT_SIGINFO per thread, with the SIGSTOP
				// gdb stopped it with; the first other signal is the one
				// that matters (SIGSTOP cannot kill a process).
				if s.signo > 0 && s.signo != sigSTOP {
					sig, sigAfter = &s, len(ps)-1
				}
			case ntAuxv:
				if c.auxv != nil {
					continue
				}
				a, err := parseAuxv(n.desc)
				if err != nil {
					c.warnf("note at offset %#x: %v", n.off, err)
					continue
				}
				c.auxv = a
			case ntFile:
				if haveFile {
					continue
				}
				fm, err := parseNTFile(n.desc)
				if err != nil {
					c.warnf("note at offset %#x: %v; file-backed memory the core lacks is unreadable", n.off, err)
					continue
				}
				haveFile = true
				c.fileMaps = fm
				if len(n.desc) >= 16 {
					c.pageSize = binary.LittleEndian.Uint64(n.desc[8:])
				}
			}
		}
		if perr != nil {
			if len(ps) == 0 {
				return fmt.Errorf("notes: %w", perr)
			}
			c.warnf("notes damaged, the rest of their segment is ignored: %v", perr)
		}
	}
	if len(ps) == 0 {
		return fmt.Errorf("no NT_PRSTATUS note, so no threads: %w", ErrCorrupt)
	}
	if !haveFile {
		c.warnf("core has no NT_FILE note: memory the core lacks cannot be read from the mapped files")
	}

	switch {
	case psinfo != nil && psinfo.pid > 0:
		c.pid = psinfo.pid
	default:
		c.pid = ps[0].tid
	}
	c.threads = make([]target.Thread, 0, len(ps))
	for _, p := range ps {
		if p.tid == c.pid {
			t := p.thread()
			if psinfo != nil && !byGDB {
				// The kernel's pr_fname is the thread-group leader's comm:
				// the main thread's name. No note carries the other
				// threads' names; gcore's pr_fname is the executable's
				// file name, not a thread's.
				t.Name = psinfo.fname
			}
			c.threads = append(c.threads, t)
		}
	}
	for _, p := range ps {
		if p.tid != c.pid {
			c.threads = append(c.threads, p.thread())
		}
	}
	if names != nil {
		c.namesNoted = true
		for i := range c.threads {
			c.threads[i].Name = names[c.threads[i].TID]
		}
	}
	c.sig = signalOf(sig, sigAfter, ps)
	if c.auxv != nil {
		if pg := c.auxv[atPagesz]; pg != 0 && pg&(pg-1) == 0 && pg <= 1<<30 && !haveFile {
			c.pageSize = pg
		}
	}
	return nil
}

// signalOf decides the fatal signal and the thread that took it. The kernel
// writes NT_SIGINFO after the NT_PRSTATUS of the thread that dumped (the one
// that took the signal); gcore writes one after each thread's. A thread whose
// pr_cursig is the signal confirms it. Cores without NT_SIGINFO (kernels
// before 3.7) still have pr_cursig and the short elf_siginfo of prstatus.
// SIGSTOP, how gdb stops the threads of a process it cores, is no crash.
func signalOf(sig *siginfo, after int, ps []prstatus) *target.SigInfo {
	if sig == nil {
		for _, p := range ps {
			if p.cursig > 0 && p.cursig != sigSTOP {
				sig = &siginfo{signo: p.cursig}
				break
			}
		}
	}
	if sig == nil {
		return nil
	}
	si := &target.SigInfo{Signo: sig.signo, Code: sig.code, Errno: sig.errno, Addr: sig.addr, Sender: sig.sender}
	switch {
	case after >= 0 && ps[after].cursig == sig.signo:
		si.TID = ps[after].tid
	default:
		for _, p := range ps {
			if p.cursig == sig.signo {
				si.TID = p.tid
				return si
			}
		}
		if after >= 0 {
			si.TID = ps[after].tid
		} else {
			si.TID = ps[0].tid
		}
	}
	return si
}
