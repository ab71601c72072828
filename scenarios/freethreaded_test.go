package scenarios

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// TestFreeThreaded requires pyhang to refuse a free-threaded CPython (3.13t,
// 3.14t), live and from a core: exit 1 and one line naming the build, never
// a stack decoded with the default build's layout.
//
// Debian ships no free-threaded interpreter, so none can be installed on the
// test machines. Instead each 3.13+ interpreter's program has the
// free_threaded field of its _Py_DebugOffsets set, the one thing that tells
// a 3.13t from a 3.13 to an outside reader (the interpreter itself never
// reads it), and is then read live and from its gcore.
func TestFreeThreaded(t *testing.T) {
	ran := 0
	for _, in := range testinterp.All(t) {
		if in.Minor < 13 {
			continue
		}
		ran++
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			p := startProgram(t, in, "parked.py", "--threads", "2", "--depth", "3")
			markFreeThreaded(t, p.PID, in)
			want := regexp.QuoteMeta(fmt.Sprintf("free-threaded CPython 3.%dt is not supported yet", in.Minor))

			wantFailure(t, runPyhang(t, "dump", strconv.Itoa(p.PID)), 1, want, regexp.QuoteMeta(in.Version))
			wantFailure(t, runPyhang(t, "diagnose", strconv.Itoa(p.PID)), 1, want)
			assertNotStopped(t, p.PID)

			core := testinterp.Gcore(t, p.PID)
			wantFailure(t, runPyhang(t, "dump", core), 1, want, regexp.QuoteMeta(in.Version))
		})
	}
	if ran == 0 {
		t.Skip("no CPython 3.13+ among the interpreters found (table above)")
	}
}

// markFreeThreaded sets free_threaded in the _Py_DebugOffsets at the start of
// the _PyRuntime of process pid: the one header with the cookie and the
// interpreter's version in the writable mappings of its binary.
func markFreeThreaded(t *testing.T, pid int, in testinterp.Interp) {
	t.Helper()
	var v [3]int
	if _, err := fmt.Sscanf(in.Version, "%d.%d.%d", &v[0], &v[1], &v[2]); err != nil {
		t.Fatalf("version %q: %v", in.Version, err)
	}
	hdr := make([]byte, 24) // cookie, version, free_threaded = 0
	copy(hdr, "xdebugpy")
	binary.LittleEndian.PutUint64(hdr[8:], uint64(v[0])<<24|uint64(v[1])<<16|uint64(v[2])<<8|0xf0)

	maps, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close()
	mem, err := os.OpenFile(fmt.Sprintf("/proc/%d/mem", pid), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	var hits []uint64
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		f := strings.Fields(sc.Text()) // start-end perms offset dev inode path
		if len(f) < 6 || !strings.HasPrefix(f[1], "rw") || f[5] != in.Binary {
			continue
		}
		var start, end uint64
		if _, err := fmt.Sscanf(f[0], "%x-%x", &start, &end); err != nil {
			t.Fatalf("maps line %q: %v", sc.Text(), err)
		}
		buf := make([]byte, end-start)
		if _, err := mem.ReadAt(buf, int64(start)); err != nil {
			t.Fatalf("reading %#x-%#x of pid %d: %v", start, end, pid, err)
		}
		for off := 0; ; {
			i := bytes.Index(buf[off:], hdr)
			if i < 0 {
				break
			}
			hits = append(hits, start+uint64(off+i))
			off += i + 1
		}
	}
	if len(hits) != 1 {
		t.Fatalf("pid %d: %d _Py_DebugOffsets headers of %s in the writable mappings of %s, want 1", pid, len(hits), in.Version, in.Binary)
	}
	if _, err := mem.WriteAt([]byte{1}, int64(hits[0]+16)); err != nil {
		t.Fatalf("setting free_threaded at %#x: %v", hits[0]+16, err)
	}
	t.Logf("pid %d: free_threaded set at %#x", pid, hits[0]+16)
}
