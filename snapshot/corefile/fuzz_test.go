package corefile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedCores returns the small cores of testdata/ (see its README).
func seedCores(f *testing.F) [][]byte {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.core"))
	if err != nil {
		f.Fatal(err)
	}
	if len(paths) == 0 {
		f.Fatal("no seeds in testdata/*.core")
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// Run the fuzzers with a bounded minimization, e.g.
//
//	go test ./snapshot/corefile -run '^$' -fuzz '^FuzzOpen$' -fuzztime 30s -fuzzminimizetime 100x
//
// With the default (60s per input) the fuzzer spends its whole time
// minimizing the many new-coverage inputs mutated from the ~30 KB seeds.

// FuzzOpen runs the whole reader over a core written from the input. The
// sysroot is a directory holding only that core, so no file of the host is
// opened whatever paths the core names. The directory is shared by the
// cases of one worker process, which run one after the other (a fresh
// t.TempDir per case costs most of the time).
func FuzzOpen(f *testing.F) {
	for _, b := range seedCores(f) {
		f.Add(b)
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "core")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Open(path, Options{Sysroot: dir})
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			return
		}
		defer c.Close()
		if len(c.Threads()) == 0 {
			t.Error("opened a core without threads")
		}
		_ = c.PID()
		_ = c.Signal()
		ms := c.Mappings()
		for i := 1; i < len(ms); i++ {
			if ms[i].Start < ms[i-1].Start {
				t.Fatalf("mappings not sorted: %+v", ms)
			}
		}
		buf := make([]byte, 256)
		for i, m := range ms {
			if i == 16 {
				break
			}
			c.ReadAt(buf, m.Start)
			c.ReadAt(buf, m.End-8)
		}
		for i := 1; i < len(c.regions); i++ {
			if c.regions[i].start < c.regions[i-1].end {
				t.Fatalf("regions overlap: %v", show(c.regions))
			}
		}
		if f, err := c.OpenFile(c.Executable()); err == nil {
			f.Close()
		}
		_ = c.Warnings()
	})
}

// FuzzNotes runs the note parsers over the input taken as a PT_NOTE segment,
// and every decoder over it taken as a descriptor.
func FuzzNotes(f *testing.F) {
	for _, b := range seedCores(f) {
		r := bytes.NewReader(b)
		progs, err := readProgs(r, int64(len(b)), "seed")
		if err != nil {
			f.Fatal(err)
		}
		segs, err := readNoteSegments(r, int64(len(b)), "seed", progs)
		if err != nil {
			f.Fatal(err)
		}
		for _, s := range segs {
			f.Add(s)
			notes, _ := parseNotes(s)
			for _, n := range notes {
				f.Add(n.desc)
			}
		}
	}
	f.Add(fakeELF([]byte{1, 2, 3}, 0x1000)[:256])
	f.Fuzz(func(t *testing.T, data []byte) {
		notes, _ := parseNotes(data)
		for _, n := range notes {
			if len(n.desc) > maxNoteDesc || len(n.name) > maxNoteName {
				t.Fatalf("note %+v exceeds the limits", n)
			}
			decodeAll(t, n.desc)
		}
		decodeAll(t, data)
		imageBuildID(bytes.NewReader(data), uint64(len(data)))
		if progs, err := imageProgs(bytes.NewReader(data), uint64(len(data))); err == nil {
			loadFlagsAt(progs, 0x1000, 4096)
		}
	})
}

func decodeAll(t *testing.T, desc []byte) {
	if fm, err := parseNTFile(desc); err == nil {
		for _, m := range fm {
			if m.end <= m.start || len(m.path) > maxPathLen {
				t.Fatalf("NT_FILE entry %+v", m)
			}
		}
	}
	if ps, err := parsePRStatus(desc); err == nil {
		ps.thread()
	}
	parseSigInfo(desc)
	parseAuxv(desc)
	parsePRPSInfo(desc)
}

// TestSeedCores opens the fixtures as cores (memory they lack is simply
// unreadable: the sysroot is empty).
func TestSeedCores(t *testing.T) {
	tests := []struct {
		file    string
		threads int
		signo   int
		exe     string
	}{
		{"kernel-abort.core", 3, 6, "/usr/bin/python3.11"},
		{"gcore-threads.core", 3, 0, "/usr/bin/python3.11"},
		{"synthetic-segv.core", 2, 11, "/usr/bin/python3.11"},
	}
	for _, tc := range tests {
		c, err := Open(filepath.Join("testdata", tc.file), Options{Sysroot: t.TempDir()})
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		ths := c.Threads()
		signo := 0
		if s := c.Signal(); s != nil {
			signo = s.Signo
		}
		if len(ths) != tc.threads || ths[0].TID != c.PID() || signo != tc.signo || c.Executable() != tc.exe {
			t.Errorf("%s: %d threads (first %d), pid %d, signal %d, exe %q; want %d threads, main first, signal %d, exe %q",
				tc.file, len(ths), ths[0].TID, c.PID(), signo, c.Executable(), tc.threads, tc.signo, tc.exe)
		}
		if ws := c.Warnings(); len(ws) != 0 {
			t.Errorf("%s: warnings %q", tc.file, ws)
		}
		c.Close()
	}
}
