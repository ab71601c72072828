package cpython

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
	"github.com/pyhang/pyhang/snapshot/elfsym"
)

// debugOffsetsImage is target memory that starts with a _Py_DebugOffsets
// header: the cookie, version hex and free_threaded.
func debugOffsetsImage(hex, freeThreaded uint64) []byte {
	b := make([]byte, 4096)
	copy(b, debugCookie)
	binary.LittleEndian.PutUint64(b[8:], hex)
	binary.LittleEndian.PutUint64(b[16:], freeThreaded)
	return b
}

// TestFreeThreadedRefused: a _Py_DebugOffsets whose free_threaded is set is
// refused with a FreeThreadedError before anything is decoded; one whose flag
// is clear is read as the default build.
func TestFreeThreadedRefused(t *testing.T) {
	for _, c := range []struct {
		hex  uint64
		want string
	}{
		{0x030d00f0, "free-threaded CPython 3.13t is not supported yet (Python 3.13.0 built without the GIL"},
		{0x030d12f0, "free-threaded CPython 3.13t is not supported yet (Python 3.13.18 built without the GIL"},
		{0x030e0af0, "free-threaded CPython 3.14t is not supported yet (Python 3.14.10 built without the GIL"},
	} {
		p := newProcess(fuzzTarget{&fuzzMemory{data: debugOffsetsImage(c.hex, 1)}}, nil, fuzzBase)
		p.Binary = "/usr/lib/libpython3.Xt.so"
		err := p.detectVersion()
		var fe *FreeThreadedError
		if !errors.As(err, &fe) {
			t.Fatalf("%#x: got %v, want a FreeThreadedError", c.hex, err)
		}
		if !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%#x: message %q, want one line starting %q", c.hex, err, c.want)
		}
		if p.Layout != nil {
			t.Errorf("%#x: a layout was chosen for a free-threaded build", c.hex)
		}

		p = newProcess(fuzzTarget{&fuzzMemory{data: debugOffsetsImage(c.hex, 0)}}, nil, fuzzBase)
		if err := p.detectVersion(); err != nil || p.Version != VersionFromHex(c.hex) {
			t.Errorf("%#x with free_threaded 0: version %v, %v", c.hex, p.Version, err)
		}
	}
}

// TestFreeThreadedFromFile reads the header from a real 3.13+ interpreter's
// file when the target's memory is unreadable (a core without that page),
// first as it is, then from a copy whose free_threaded is set.
func TestFreeThreadedFromFile(t *testing.T) {
	ran := 0
	for _, in := range testinterp.All(t) {
		if in.Minor < 13 {
			continue
		}
		ran++
		t.Run(in.Name, func(t *testing.T) {
			raw, err := os.ReadFile(in.Binary)
			if err != nil {
				t.Fatal(err)
			}
			p := fileProcess(t, in.Binary)
			if err := p.detectVersion(); err != nil || p.Version.String() != in.Version {
				t.Fatalf("from %s: version %v, %v; want %s", in.Binary, p.Version, err, in.Version)
			}

			// Set free_threaded in a copy of the file: the one header in
			// initialised data is the one after the cookie and version.
			hdr := append([]byte(debugCookie), make([]byte, 8)...)
			binary.LittleEndian.PutUint64(hdr[8:], hexOf(p.Version))
			at := bytes.Index(raw, hdr)
			if at < 0 || bytes.Contains(raw[at+1:], hdr) {
				t.Fatalf("%s: the debug-offsets header is not there once", in.Binary)
			}
			raw[at+16] = 1
			copyPath := filepath.Join(t.TempDir(), filepath.Base(in.Binary))
			if err := os.WriteFile(copyPath, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			err = fileProcess(t, copyPath).detectVersion()
			var fe *FreeThreadedError
			if !errors.As(err, &fe) || fe.Version != p.Version {
				t.Fatalf("patched copy: %v, want a FreeThreadedError for %v", err, p.Version)
			}
			t.Logf("%s", err)
		})
	}
	if ran == 0 {
		t.Skip("no CPython 3.13+ among the interpreters found (table above)")
	}
}

// fileProcess is the interpreter in the ELF file at path, over target memory
// that is unreadable everywhere.
func fileProcess(t *testing.T, path string) *Process {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	bin, err := elfsym.Open(f, path)
	if err != nil {
		t.Fatal(err)
	}
	sym, ok := bin.Lookup("_PyRuntime")
	if !ok {
		t.Fatalf("%s defines no _PyRuntime", path)
	}
	p := newProcess(fuzzTarget{&fuzzMemory{}}, nil, sym.Value)
	p.Binary, p.Bin = path, bin
	return p
}

func hexOf(v Version) uint64 {
	return uint64(v.Major)<<24 | uint64(v.Minor)<<16 | uint64(v.Micro)<<8 | uint64(v.Level)<<4 | uint64(v.Serial)
}
