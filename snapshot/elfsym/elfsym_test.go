package elfsym

import (
	"bytes"
	"encoding/binary"
	"os"
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
