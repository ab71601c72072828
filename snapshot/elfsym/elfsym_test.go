package elfsym

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// note builds one ELF note.
func note(name string, typ uint32, desc []byte) []byte {
	var b bytes.Buffer
	n := append([]byte(name), 0)
	binary.Write(&b, binary.LittleEndian, uint32(len(n)))
	binary.Write(&b, binary.LittleEndian, uint32(len(desc)))
	binary.Write(&b, binary.LittleEndian, typ)
	b.Write(n)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	b.Write(desc)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

func TestFindBuildID(t *testing.T) {
	id := []byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3}
	notes := append(note("GNU", 1, []byte{0, 0, 0, 0}), note("GNU", 3, id)...)
	if got := FindBuildID(notes); got != "deadbeef010203" {
		t.Errorf("FindBuildID = %q", got)
	}
	if got := FindBuildID(notes[:len(notes)-4]); got != "" {
		t.Errorf("truncated note gave %q", got)
	}
	if got := FindBuildID([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 3, 0, 0, 0}); got != "" {
		t.Errorf("huge name size gave %q", got)
	}
}

// TestOpenLibc reads the C library, a real stripped ELF (.dynsym only).
func TestOpenLibc(t *testing.T) {
	const exe = "/lib/x86_64-linux-gnu/libc.so.6"
	fh, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	f, err := Open(fh, exe)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := f.Lookup("malloc")
	if !ok || s.Value == 0 {
		t.Fatalf("malloc not found: %+v", s)
	}
	if got, ok := f.Symbolize(s.Value + 1); !ok || got.Value != s.Value { // malloc has aliases
		t.Errorf("Symbolize(malloc+1) = %+v, %v", got, ok)
	}
	if _, err := f.ReadVA(s.Value, 16); err != nil {
		t.Errorf("ReadVA of malloc: %v", err)
	}
	if _, err := f.ReadVA(s.Value, 2<<20); err == nil {
		t.Error("a 2 MiB read was not refused")
	}
}

func FuzzOpen(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if ef, err := Open(bytes.NewReader(data), "fuzz"); err == nil {
			ef.Lookup("_PyRuntime")
			ef.ReadVA(0, 8)
			ef.Symbolize(0x1000)
		}
	})
}

// TestScanAsSorted holds the scan Symbolize starts with to the sorted table
// it moves to, on real files: the C library (.dynsym, many aliases) and an
// interpreter with its .symtab, at every function's start, inside, last
// byte and just past it.
func TestScanAsSorted(t *testing.T) {
	paths := []string{"/lib/x86_64-linux-gnu/libc.so.6"}
	if home, err := os.UserHomeDir(); err == nil {
		paths = append(paths, filepath.Join(home, ".pyenv/versions/3.12.1/lib/libpython3.12.so.1.0"))
	}
	for _, path := range paths {
		fh, err := os.Open(path)
		if err != nil {
			if os.Getenv("PYHANG_REQUIRE_ALL") == "1" {
				t.Fatalf("%s: %v (make deps installs it)", path, err)
			}
			t.Logf("skipped %s: %v", path, err)
			continue
		}
		defer fh.Close()
		f, err := Open(fh, path)
		if err != nil {
			t.Fatal(err)
		}
		f.scans.Store(scanFirst) // the sorted table from the first call
		f.Symbolize(0)
		t.Logf("%s: %d functions", path, len(f.byAddr))
		checked := 0
		for i, s := range f.byAddr {
			if i%7 != 0 { // a seventh of them: the scan is a pass over every symbol
				continue
			}
			for _, va := range []uint64{s.value, s.value + s.size/2, s.value + max(s.size, 1) - 1, s.value + max(s.size, 1), s.value - 1} {
				want, wok := f.Symbolize(va)
				got, gok := f.scan(va)
				if got != want || gok != wok {
					t.Fatalf("%s: at %#x the scan says %+v %v, the table %+v %v", path, va, got, gok, want, wok)
				}
				checked++
			}
		}
		if checked < 1000 {
			t.Fatalf("%s: only %d addresses checked", path, checked)
		}
	}
}
