package native

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pyhang/pyhang/snapshot/elfsym"
)

// TestEHIndexAsWholeTable holds the entries found through .eh_frame_hdr to
// those of the whole .eh_frame, at the first and last byte of every entry,
// in the machine's own C library and interpreters.
func TestEHIndexAsWholeTable(t *testing.T) {
	paths := []string{"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"}
	more, _ := filepath.Glob(filepath.Join(os.Getenv("HOME"), ".pyenv/versions/3.*/lib/libpython3.*.so.1.0"))
	tested := 0
	for _, path := range append(paths, more...) {
		fh, err := os.Open(path)
		if err != nil {
			continue
		}
		defer fh.Close()
		f, err := elfsym.Open(fh, path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		data, err := f.SectionData(".eh_frame")
		if err != nil || data == nil {
			continue
		}
		addr, _ := f.SectionAddr(".eh_frame")
		whole := parseCFI(data, addr, true)
		if whole.err != nil {
			t.Fatalf("%s: %v", path, whole.err)
		}
		x := loadEHIndex(f)
		if x.entries == nil {
			t.Errorf("%s: .eh_frame_hdr not usable", path)
			continue
		}
		for _, want := range whole.fdes {
			if want.End() <= want.Begin() {
				continue
			}
			for _, va := range []uint64{want.Begin(), want.End() - 1} {
				got, ok := x.find(va)
				if !ok {
					t.Errorf("%s: no entry found through the index at %#x (want %#x-%#x)", path, va, want.Begin(), want.End())
					continue
				}
				if got.Begin() != want.Begin() || got.End() != want.End() || !bytes.Equal(got.Instructions, want.Instructions) ||
					got.CIE.Augmentation != want.CIE.Augmentation || !bytes.Equal(got.CIE.InitialInstructions, want.CIE.InitialInstructions) ||
					got.CIE.CodeAlignmentFactor != want.CIE.CodeAlignmentFactor || got.CIE.DataAlignmentFactor != want.CIE.DataAlignmentFactor ||
					got.CIE.ReturnAddressRegister != want.CIE.ReturnAddressRegister {
					t.Errorf("%s at %#x: the index's entry %#x-%#x differs from the table's %#x-%#x", path, va, got.Begin(), got.End(), want.Begin(), want.End())
				}
			}
		}
		tested++
	}
	if tested == 0 {
		t.Skip("no C library or interpreter with .eh_frame found")
	}
}
