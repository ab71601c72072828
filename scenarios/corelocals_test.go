package scenarios

import (
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
	"github.com/pyhang/pyhang/snapshot"
)

// TestCoreLocals: `pyhang core` (without --full) keeps what --locals reads,
// so a dump of the core shows every local of testprogs/core_locals.py as the
// live dump does: a str whose characters run into the page after its header,
// the items of a set and a frozenset. Then the core loses that page: the
// local must say it is unreadable (not the form of a type pyhang does not
// decode) and target.missing must say what was lost.
func TestCoreLocals(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			p := startProgram(t, in, "core_locals.py")
			var ready struct {
				Expect struct {
					Function string   `json:"function"`
					StrAddr  uint64   `json:"str_addr"`
					Values   []string `json:"values"`
				} `json:"expect"`
			}
			if err := json.Unmarshal(p.raw, &ready); err != nil {
				t.Fatal(err)
			}
			want := ready.Expect
			live, _ := dumpJSON(t, strconv.Itoa(p.PID), "--locals")
			path, _, _ := writeCore(t, p.PID)
			core, _ := dumpJSON(t, path, "--locals")
			liveLocals := frameLocals(t, live, want.Function)
			coreLocals := frameLocals(t, core, want.Function)
			for _, name := range want.Values {
				l, c := liveLocals[name], coreLocals[name]
				if l == "" || strings.Contains(l, " object at 0x") {
					t.Errorf("live: %s = %q", name, l)
				}
				if c != l {
					t.Errorf("%s from pyhang's core:\n  %q\nlive:\n  %q", name, c, l)
				}
			}
			if len(core.Target.Missing) > 0 {
				t.Errorf("the core lacks memory: %q", core.Target.Missing)
			}

			// The page of the str's characters, taken out of the core.
			page := want.StrAddr&^4095 + 4096
			if !dropPage(t, path, page) {
				t.Fatalf("the core does not hold the page %#x of long_text's characters", page)
			}
			cut, _ := dumpJSON(t, path, "--locals")
			got := frameLocals(t, cut, want.Function)["long_text"]
			if !strings.Contains(got, "unreadable") || strings.Contains(got, "<str object at") {
				t.Errorf("long_text without its second page: %q, want it said to be unreadable", got)
			}
			said := false
			for _, m := range cut.Target.Missing {
				said = said || strings.Contains(m, "long_text")
			}
			if !said {
				t.Errorf("target.missing does not say long_text was lost: %q", cut.Target.Missing)
			}
			t.Logf("long_text without page %#x: %s; missing: %q", page, got, cut.Target.Missing)
		})
	}
}

// frameLocals are the locals of the main thread's innermost frame of
// function, by name.
func frameLocals(t *testing.T, s *snapshot.Snapshot, function string) map[string]string {
	t.Helper()
	for _, th := range s.Threads {
		if !th.Main {
			continue
		}
		for _, f := range th.Frames {
			if f.Function == function {
				out := map[string]string{}
				for _, l := range f.LocalList {
					out[l.Name] = l.Repr
				}
				return out
			}
		}
	}
	t.Fatalf("no frame of %s() in the main thread", function)
	return nil
}

// dropPage takes the page at addr out of an ELF core: the PT_LOAD that holds
// it is split around it, in a program header table written anew at the end
// of the file. It reports whether a segment held the page.
func dropPage(t *testing.T, path string, addr uint64) bool {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var progs []elf.ProgHeader
	found := false
	for _, p := range f.Progs {
		h := p.ProgHeader
		if h.Type != elf.PT_LOAD || addr < h.Vaddr || addr+4096 > h.Vaddr+h.Filesz || found {
			progs = append(progs, h)
			continue
		}
		found = true
		before, after := h, h
		before.Filesz, before.Memsz = addr-h.Vaddr, addr-h.Vaddr
		skip := addr + 4096 - h.Vaddr
		after.Vaddr, after.Off, after.Filesz, after.Memsz = h.Vaddr+skip, h.Off+skip, h.Filesz-skip, h.Memsz-skip
		for _, part := range []elf.ProgHeader{before, after} {
			if part.Memsz > 0 {
				progs = append(progs, part)
			}
		}
	}
	f.Close()
	if !found {
		return false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	phoff := len(b)
	le := binary.LittleEndian
	for _, h := range progs {
		var e [56]byte
		le.PutUint32(e[0:], uint32(h.Type))
		le.PutUint32(e[4:], uint32(h.Flags))
		le.PutUint64(e[8:], h.Off)
		le.PutUint64(e[16:], h.Vaddr)
		le.PutUint64(e[24:], h.Paddr)
		le.PutUint64(e[32:], h.Filesz)
		le.PutUint64(e[40:], h.Memsz)
		le.PutUint64(e[48:], h.Align)
		b = append(b, e[:]...)
	}
	le.PutUint64(b[0x20:], uint64(phoff))
	le.PutUint16(b[0x38:], uint16(len(progs)))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return true
}
