package corefile

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot/target"
)

func TestSpliceRegions(t *testing.T) {
	fa := &mappedFile{path: "/a"}
	fb := &mappedFile{path: "/b"}
	file := func(f *mappedFile, s, e, off uint64) region { return region{start: s, end: e, off: off, file: f} }
	core := func(s, e, off uint64) region { return region{start: s, end: e, off: off} }
	tests := []struct {
		name        string
		under, over []region
		want        []region
	}{
		{
			name:  "disjoint",
			under: []region{file(fa, 0x3000, 0x4000, 0)},
			over:  []region{core(0x1000, 0x2000, 0x100)},
			want:  []region{core(0x1000, 0x2000, 0x100), file(fa, 0x3000, 0x4000, 0)},
		},
		{
			name:  "adjacent, not merged",
			under: []region{file(fa, 0x1000, 0x2000, 0), file(fb, 0x2000, 0x3000, 0x5000)},
			over:  []region{core(0x3000, 0x4000, 0)},
			want:  []region{file(fa, 0x1000, 0x2000, 0), file(fb, 0x2000, 0x3000, 0x5000), core(0x3000, 0x4000, 0)},
		},
		{
			name:  "core's first page over the file (kernel core of a read-only mapping)",
			under: []region{file(fa, 0x1000, 0x5000, 0)},
			over:  []region{core(0x1000, 0x2000, 0x800)},
			want:  []region{core(0x1000, 0x2000, 0x800), file(fa, 0x2000, 0x5000, 0x1000)},
		},
		{
			name:  "core in the middle splits the file",
			under: []region{file(fa, 0x1000, 0x5000, 0x10000)},
			over:  []region{core(0x2000, 0x3000, 0)},
			want:  []region{file(fa, 0x1000, 0x2000, 0x10000), core(0x2000, 0x3000, 0), file(fa, 0x3000, 0x5000, 0x12000)},
		},
		{
			name:  "core covers several files and overhangs",
			under: []region{file(fa, 0x1000, 0x2000, 0), file(fb, 0x2000, 0x3000, 0), file(fa, 0x5000, 0x6000, 0x4000)},
			over:  []region{core(0x800, 0x2800, 0)},
			want:  []region{core(0x800, 0x2800, 0), file(fb, 0x2800, 0x3000, 0x800), file(fa, 0x5000, 0x6000, 0x4000)},
		},
		{
			name:  "truncated core segment: the file shows through after the cut",
			under: []region{file(fa, 0x1000, 0x4000, 0)},
			over:  []region{core(0x1000, 0x1800, 0x40)}, // 0x800 of 0x3000 bytes present
			want:  []region{core(0x1000, 0x1800, 0x40), file(fa, 0x1800, 0x4000, 0x800)},
		},
		{
			name:  "two core segments inside one file mapping",
			under: []region{file(fa, 0x1000, 0x9000, 0)},
			over:  []region{core(0x6000, 0x7000, 0x20), core(0x2000, 0x3000, 0x10)},
			want: []region{
				file(fa, 0x1000, 0x2000, 0), core(0x2000, 0x3000, 0x10), file(fa, 0x3000, 0x6000, 0x2000),
				core(0x6000, 0x7000, 0x20), file(fa, 0x7000, 0x9000, 0x6000),
			},
		},
		{
			name: "overlapping core segments (corrupt): the lower start keeps the bytes",
			over: []region{core(0x2000, 0x4000, 0x100), core(0x1000, 0x3000, 0x900), core(0x1800, 0x2000, 0)},
			want: []region{core(0x1000, 0x3000, 0x900), core(0x3000, 0x4000, 0x1100)},
		},
		{
			name:  "overlapping file mappings (corrupt) under a core segment",
			under: []region{file(fa, 0x1000, 0x3000, 0), file(fb, 0x2000, 0x4000, 0)},
			over:  []region{core(0x2800, 0x2900, 0)},
			want:  []region{file(fa, 0x1000, 0x2800, 0), core(0x2800, 0x2900, 0), file(fa, 0x2900, 0x3000, 0x1900), file(fb, 0x3000, 0x4000, 0x1000)},
		},
		{
			name:  "empty regions dropped",
			under: []region{file(fa, 0x1000, 0x1000, 0)},
			over:  []region{core(0x2000, 0x2000, 0)},
			want:  []region{},
		},
		{
			name:  "region at the top of the address space",
			under: []region{file(fa, 0xffffffffff600000, 0xffffffffff601000, 0)},
			over:  []region{core(0xffffffffff600800, 0xffffffffff601000, 0)},
			want:  []region{file(fa, 0xffffffffff600000, 0xffffffffff600800, 0), core(0xffffffffff600800, 0xffffffffff601000, 0)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := spliceRegions(tc.under, tc.over)
			if fmt.Sprint(show(got)) != fmt.Sprint(show(tc.want)) {
				t.Errorf("got\n\t%v\nwant\n\t%v", show(got), show(tc.want))
			}
		})
	}
}

func show(rs []region) []string {
	out := []string{}
	for _, r := range rs {
		src := "core"
		if r.file != nil {
			src = r.file.path
		}
		out = append(out, fmt.Sprintf("[%#x,%#x)%s@%#x", r.start, r.end, src, r.off))
	}
	return out
}

// TestReadAtSplice reads through a synthetic core whose segments sit over
// two local files, across every kind of boundary.
func TestReadAtSplice(t *testing.T) {
	dir := t.TempDir()
	libA := fakeELF([]byte{1, 2, 3, 4}, 0x4000)
	libB := bytes.Repeat([]byte{0xbb}, 0x2000)
	if err := os.WriteFile(filepath.Join(dir, "liba.so"), libA, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "libb.so"), libB, 0o644); err != nil {
		t.Fatal(err)
	}
	anon := bytes.Repeat([]byte{0xcc}, 0x1000)
	fc := &fakeCore{
		threads: []fakeThread{{tid: 5}},
		psPid:   5,
		files: []fileMapping{
			{start: 0x10000, end: 0x14000, off: 0, path: "/usr/lib/liba.so"},
			{start: 0x14000, end: 0x16000, off: 0, path: "/usr/lib/libb.so"},
			{start: 0x20000, end: 0x22000, off: 0, path: "/usr/lib/gone.so"},
		},
		loads: []fakeLoad{
			{vaddr: 0x10000, memsz: 0x4000, flags: elf.PF_R, data: libA[:0x1000]}, // first page only
			{vaddr: 0x14000, memsz: 0x2000, flags: elf.PF_R | elf.PF_W, data: bytes.Repeat([]byte{0xdd}, 0x1000)},
			{vaddr: 0x16000, memsz: 0x1000, flags: elf.PF_R | elf.PF_W, data: anon},
			{vaddr: 0x20000, memsz: 0x2000, flags: elf.PF_R, data: nil},
			{vaddr: 0x30000, memsz: 0x1000, flags: elf.PF_R | elf.PF_W, data: nil}, // not dumped, no file
		},
	}
	c, err := Open(fc.write(t, dir), Options{Sysroot: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	read := func(addr uint64, n int) ([]byte, error) {
		p := make([]byte, n)
		m, err := c.ReadAt(p, addr)
		return p[:m], err
	}
	cases := []struct {
		name string
		addr uint64
		n    int
		want []byte
		err  string
	}{
		{"ELF header from the core", 0x10000, 4, []byte("\x7fELF"), ""},
		{"core page into file", 0x10ffe, 4, libA[0xffe:0x1002], ""},
		{"file only", 0x12000, 8, libA[0x2000:0x2008], ""},
		{"file a into core segment of b", 0x13ffc, 8, append(append([]byte{}, libA[0x3ffc:]...), 0xdd, 0xdd, 0xdd, 0xdd), ""},
		{"core segment of b into b's file (segment cut short)", 0x14ffe, 4, []byte{0xdd, 0xdd, 0xbb, 0xbb}, ""},
		{"b's file into anonymous core memory", 0x15ffe, 4, []byte{0xbb, 0xbb, 0xcc, 0xcc}, ""},
		{"anonymous memory up to a gap", 0x16ffe, 4, []byte{0xcc, 0xcc}, "0x17000 is not in the core"},
		{"gap", 0x18000, 1, nil, "0x18000 is not in the core"},
		{"missing file", 0x20010, 4, nil, "core needs /usr/lib/gone.so (mapped at 0x20000), not found"},
		{"not dumped, no file", 0x30000, 4, nil, "is not in the core"},
		{"wraps the address space", 0xfffffffffffffffe, 4, nil, "is not in the core"},
	}
	for _, tc := range cases {
		got, err := read(tc.addr, tc.n)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%s: read %x, want %x", tc.name, got, tc.want)
		}
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, target.ErrUnreadable)):
			t.Errorf("%s: err = %v, want ErrUnreadable and %q", tc.name, err, tc.err)
		}
	}
	_, err = read(0x20000, 1)
	var miss *MissingFileError
	if !errors.As(err, &miss) || miss.Path != "/usr/lib/gone.so" || !errors.Is(err, ErrMissingFile) {
		t.Errorf("missing file read: err = %v, want *MissingFileError", err)
	}
	// The first miss is a warning, once; the split kept no build-id
	// mismatch warning for liba (same id in core and file).
	ws := c.Warnings()
	if len(ws) != 1 || !strings.HasPrefix(ws[0], "core needs /usr/lib/gone.so") {
		t.Errorf("warnings = %q, want one missing-file warning", ws)
	}
}

// TestReadAtTruncatedCore cuts a core inside its last segment: the part that
// is gone reads from the file if one is mapped there, else is unreadable.
func TestReadAtTruncatedCore(t *testing.T) {
	dir := t.TempDir()
	lib := fakeELF([]byte{9}, 0x3000)
	if err := os.WriteFile(filepath.Join(dir, "lib.so"), lib, 0o644); err != nil {
		t.Fatal(err)
	}
	modified := bytes.Repeat([]byte{0xee}, 0x3000)
	fc := &fakeCore{
		threads: []fakeThread{{tid: 5}},
		psPid:   5,
		files:   []fileMapping{{start: 0x40000, end: 0x43000, path: "/lib.so"}},
		loads: []fakeLoad{
			{vaddr: 0x40000, memsz: 0x3000, flags: elf.PF_R | elf.PF_W, data: modified},
			{vaddr: 0x50000, memsz: 0x1000, flags: elf.PF_R | elf.PF_W, data: bytes.Repeat([]byte{0xaa}, 0x1000)},
		},
	}
	b := fc.bytes()
	// Cut 0x1000 bytes into the file-backed segment: the anonymous one is gone.
	cut := len(b) - 0x1000 - 0x2000
	path := filepath.Join(dir, "core")
	if err := os.WriteFile(path, b[:cut], 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Open(path, Options{Sysroot: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ws := c.Warnings(); len(ws) != 1 || ws[0] != "core truncated: 4096 of 16384 bytes of memory present" {
		t.Errorf("warnings = %q", ws)
	}
	// The lost part of a dumped segment must not be read from the mapped
	// file: the file holds the initial contents, the process had changed them.
	p := make([]byte, 4)
	if n, err := c.ReadAt(p, 0x40ffe); n != 2 || !errors.Is(err, target.ErrUnreadable) || !strings.Contains(err.Error(), "truncated") || !bytes.Equal(p[:2], []byte{0xee, 0xee}) {
		t.Errorf("read across the cut: %d %x %v", n, p, err)
	}
	if n, err := c.ReadAt(p, 0x50000); n != 0 || !errors.Is(err, target.ErrUnreadable) {
		t.Errorf("read of the lost anonymous segment: %d %v", n, err)
	}
}

// TestSpliceOracle checks spliceRegions on random layers against a naive
// oracle that decides every address of a small space on its own: the
// lowest-starting (then first) core region holding it, else the
// lowest-starting (then first) file region, each at its offset.
func TestSpliceOracle(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	files := []*mappedFile{{path: "/a"}, {path: "/b"}, {path: "/c"}}
	const space = 64
	layer := func(n int, file bool) []region {
		var rs []region
		for range n {
			s := uint64(rng.Intn(space))
			e := s + uint64(rng.Intn(16))
			r := region{start: s, end: min(e, space), off: uint64(rng.Intn(1000))}
			if file {
				r.file = files[rng.Intn(len(files))]
			}
			rs = append(rs, r)
		}
		return rs
	}
	type src struct {
		file *mappedFile
		off  uint64
		ok   bool
	}
	oracle := func(rs []region, a uint64) src {
		best := -1
		for i, r := range rs {
			if r.start <= a && a < r.end && (best < 0 || r.start < rs[best].start) {
				best = i
			}
		}
		if best < 0 {
			return src{}
		}
		return src{rs[best].file, rs[best].off + a - rs[best].start, true}
	}
	for iter := range 2000 {
		under, over := layer(rng.Intn(6), true), layer(rng.Intn(6), false)
		got := spliceRegions(slices.Clone(under), slices.Clone(over))
		for i := 1; i < len(got); i++ {
			if got[i].start < got[i-1].end {
				t.Fatalf("iteration %d: overlapping result %v", iter, show(got))
			}
		}
		for a := uint64(0); a < space; a++ {
			want := oracle(over, a)
			if !want.ok {
				want = oracle(under, a)
			}
			var have src
			for _, r := range got {
				if r.start <= a && a < r.end {
					have = src{r.file, r.off + a - r.start, true}
				}
			}
			if have != want {
				t.Fatalf("iteration %d, address %d: got %+v, want %+v\nunder %v\nover %v\nresult %v",
					iter, a, have, want, show(under), show(over), show(got))
			}
		}
	}
}
