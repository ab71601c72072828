package scenarios

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// coreReport is the part of `pyhang core --format json` these tests read.
type coreReport struct {
	Target struct {
		Executable string   `json:"executable"`
		PausedMS   *float64 `json:"paused_ms"`
	} `json:"target"`
	CoreFile struct {
		Path       string   `json:"path"`
		Bytes      int64    `json:"bytes"`
		Segments   int      `json:"segments"`
		Threads    int      `json:"threads"`
		Full       bool     `json:"full"`
		Unreadable []string `json:"unreadable"`
		PausedMS   float64  `json:"paused_ms"`
	} `json:"core_file"`
}

// writeCore runs `pyhang core PID -o FILE --format json [extra]` and returns the
// core's path, the report (the diagnosis of the snapshot taken in the same pause) and
// what the core holds.
func writeCore(t *testing.T, pid int, extra ...string) (string, diagnosis, coreReport) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "core")
	r := runPyhang(t, append([]string{"core", strconv.Itoa(pid), "-o", path, "--format", "json"}, extra...)...)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	var d diagnosis
	var c coreReport
	if err := json.Unmarshal(r.stdout, &d); err != nil {
		t.Fatalf("%v\nstdout is not a report: %v", r, err)
	}
	if err := json.Unmarshal(r.stdout, &c); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("pyhang core wrote no file: %v", err)
	}
	if st.Size() != c.CoreFile.Bytes {
		t.Errorf("the report says %d bytes, the file has %d", c.CoreFile.Bytes, st.Size())
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the core's mode is %v, want 0600", st.Mode().Perm())
	}
	if c.Target.PausedMS == nil {
		t.Errorf("the report has no paused_ms")
	}
	return path, d, c
}

// diagnoseJSON runs `pyhang diagnose TARGET --format json`.
func diagnoseJSON(t *testing.T, target string) (diagnosis, result) {
	t.Helper()
	r := runPyhang(t, "diagnose", target, "--format", "json")
	var d diagnosis
	if err := json.Unmarshal(r.stdout, &d); err != nil {
		t.Fatalf("%v\nstdout is not a report: %v", r, err)
	}
	return d, r
}

// sameDiagnosis compares what two diagnoses found: the findings (kind, severity,
// threads, objects) and every thread's wait and holds.
func sameDiagnosis(t *testing.T, what string, want, got diagnosis) {
	t.Helper()
	if len(want.Findings) == 0 {
		t.Errorf("%s: the live snapshot found nothing to compare", what)
	}
	key := func(d diagnosis) []string {
		var out []string
		for _, f := range d.Findings {
			out = append(out, fmt.Sprintf("%s/%s threads %v objects %v", f.Kind, f.Severity, sortedInts(f.Threads), slices.Sorted(slices.Values(f.Objects))))
		}
		for _, th := range d.Threads {
			w := "-"
			if th.WaitingOn != nil {
				w = th.WaitingOn.ID
			}
			var hs []string
			for _, h := range th.Holds {
				hs = append(hs, h.ID)
			}
			slices.Sort(hs)
			out = append(out, fmt.Sprintf("thread %d %q waits %s holds %v", th.TID, th.Name, w, hs))
		}
		slices.Sort(out)
		return out
	}
	if a, b := key(want), key(got); !slices.Equal(a, b) {
		t.Errorf("%s: the diagnoses differ\nlive:\n  %s\ncore:\n  %s", what, strings.Join(a, "\n  "), strings.Join(b, "\n  "))
	}
}

func sortedInts(xs []int) []int { return slices.Sorted(slices.Values(xs)) }

// TestCoreRoundTrip writes pyhang's own core of hung programs under every
// interpreter: diagnosing the core must find what the snapshot taken in the same
// pause found, gdb must read every thread's stack from it, and the target must run
// on.
func TestCoreRoundTrip(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			for _, prog := range []string{"deadlock.py", "orphaned_lock.py"} {
				t.Run(strings.TrimSuffix(prog, ".py"), func(t *testing.T) {
					t.Parallel()
					p := startProgram(t, in, prog)
					path, live, c := writeCore(t, p.PID)
					assertNotStopped(t, p.PID)
					core, r := diagnoseJSON(t, path)
					if r.code != 3 {
						t.Errorf("diagnose of the core: exit %d, want 3\n%v", r.code, r)
					}
					sameDiagnosis(t, "pyhang core vs diagnose of its core", live, core)
					t.Logf("core: %d bytes, %d segments, %d threads; paused %.2f ms", c.CoreFile.Bytes, c.CoreFile.Segments, c.CoreFile.Threads, *c.Target.PausedMS)
					if prog == "deadlock.py" {
						exe := c.Target.Executable
						if strings.HasPrefix(filepath.Base(exe), "ld-") {
							// Started by its loader (ld.so PROG): gdb wants PROG.
							exe = in.Binary
						}
						checkGDB(t, exe, path, threadIDs(live))
					}
				})
			}
		})
	}
}

func threadIDs(d diagnosis) []int {
	var out []int
	for _, th := range d.Threads {
		out = append(out, th.TID)
	}
	return out
}

// checkGDB opens a core in gdb: `info threads` must list every thread, and
// `thread apply all bt` must unwind each through at least two frames without
// running into memory the core lacks.
func checkGDB(t *testing.T, exe, core string, tids []int) {
	t.Helper()
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		msg := "gdb not found: run scripts/install-test-deps.sh"
		if os.Getenv("PYHANG_REQUIRE_ALL") == "1" {
			t.Fatal(msg)
		}
		t.Log("SKIP gdb check: " + msg)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gdb, "-batch", "-nx", "-ex", "info threads", "-ex", "thread apply all bt", exe, core).CombinedOutput()
	if err != nil {
		t.Fatalf("gdb %s %s: %v\n%s", exe, core, err, tail(out, 3000))
	}
	text := string(out)
	for _, tid := range tids {
		if !strings.Contains(text, fmt.Sprintf("LWP %d", tid)) {
			t.Errorf("gdb does not list thread %d", tid)
		}
	}
	for _, bad := range []string{"Cannot access memory", "is not a core dump", "core file may not match"} {
		if strings.Contains(text, bad) {
			t.Errorf("gdb says %q", bad)
		}
	}
	// "Thread N (LWP tid):" heads each backtrace; count the frames under it.
	for _, part := range strings.Split(text, "\nThread ")[1:] {
		if n := strings.Count(part, "\n#"); n < 2 {
			t.Errorf("gdb unwound only %d frame(s) of thread %s", n, strings.SplitN(part, "\n", 2)[0])
		}
	}
	if t.Failed() {
		t.Logf("gdb output:\n%s", tail(out, 6000))
	}
}

// TestCoreSize measures pyhang's core against gcore's of the same hung process:
// the default core must be at most 5% of gcore's. --full keeps every readable
// page, leaves out exactly the pages that cannot be read (guard pages inside
// thread stacks on glibc 2.41+), and must still diagnose the same.
func TestCoreSize(t *testing.T) {
	ins := pickInterps(t, "3.12", "unstable-3.14")
	for _, in := range ins {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			p := startProgram(t, in, "deadlock.py")
			_, live, c := writeCore(t, p.PID)
			full, _, cf := writeCore(t, p.PID, "--full")
			assertNotStopped(t, p.PID)
			checkFullCore(t, p.PID, full)
			gc := testinterp.Gcore(t, p.PID)
			gst, err := os.Stat(gc)
			if err != nil {
				t.Fatal(err)
			}
			ratio := float64(c.CoreFile.Bytes) / float64(gst.Size())
			t.Logf("pyhang core: %d bytes (%.2f%% of gcore's %d), paused %.2f ms; --full: %d bytes, paused %.2f ms, left out: %v",
				c.CoreFile.Bytes, 100*ratio, gst.Size(), *c.Target.PausedMS, cf.CoreFile.Bytes, *cf.Target.PausedMS, cf.CoreFile.Unreadable)
			if ratio > 0.05 {
				t.Errorf("the default core is %.1f%% of gcore's size, more than 5%%", 100*ratio)
			}
			fd, _ := diagnoseJSON(t, full)
			sameDiagnosis(t, "pyhang core vs diagnose of its --full core", live, fd)
		})
	}
}

// checkFullCore compares a --full core with the live memory of the (hung, so
// unchanging) process, page by page in every thread stack's mapping: a page
// /proc/PID/mem reads must be in the core with the same bytes, and a page it cannot
// read must be absent from the core, never zeros.
func checkFullCore(t *testing.T, pid int, core string) {
	t.Helper()
	f, err := elf.Open(core)
	if err != nil {
		t.Fatalf("debug/elf cannot open the core: %v", err)
	}
	defer f.Close()
	inCore := func(addr uint64) ([]byte, bool) {
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr+4096 <= p.Vaddr+p.Filesz {
				b := make([]byte, 4096)
				if _, err := p.ReadAt(b, int64(addr-p.Vaddr)); err != nil {
					t.Fatalf("reading the core at %#x: %v", addr, err)
				}
				return b, true
			}
		}
		return nil, false
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	checked, holes := 0, 0
	for _, m := range stackMappings(t, pid) {
		for a := m[0]; a < m[1]; a += 4096 {
			live := make([]byte, 4096)
			_, rerr := mem.ReadAt(live, int64(a))
			got, ok := inCore(a)
			switch {
			case rerr != nil && ok:
				t.Errorf("page %#x cannot be read live but the core has it (zeros? %v)", a, bytes.Count(got, []byte{0}) == 4096)
			case rerr != nil:
				holes++
			case !ok:
				t.Errorf("page %#x reads live but is not in the core", a)
			case !bytes.Equal(live, got) && !onlyCPUNumbers(live, got):
				t.Errorf("page %#x of stack mapping %#x-%#x differs between the core and the live process", a, m[0], m[1])
			default:
				checked++
			}
		}
	}
	t.Logf("--full core: %d stack pages equal to the live ones, %d unreadable pages left out", checked, holes)
}

// onlyCPUNumbers says whether two versions of a page differ only in a few
// aligned 32-bit words that hold small numbers in both: the CPU numbers of a
// thread's rseq area (glibc keeps it in struct pthread, at the top of the thread's
// stack), which the kernel rewrites whenever the thread returns to user space on
// another CPU — as a thread stopped and let go (by pyhang, by gdb) may.
func onlyCPUNumbers(a, b []byte) bool {
	words := 0
	for i := 0; i+4 <= len(a); i += 4 {
		x, y := le32(a[i:]), le32(b[i:])
		if x == y {
			continue
		}
		words++
		if x >= 4096 || y >= 4096 || words > 4 {
			return false
		}
	}
	return true
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// stackMappings are the mappings holding a thread's stack pointer.
func stackMappings(t *testing.T, pid int) [][2]uint64 {
	t.Helper()
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	var ranges [][2]uint64
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		a, _ := strconv.ParseUint(lo, 16, 64)
		b, _ := strconv.ParseUint(hi, 16, 64)
		ranges = append(ranges, [2]uint64{a, b})
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]uint64
	for _, e := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/syscall", pid, e.Name()))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) < 3 {
			continue
		}
		sp, err := strconv.ParseUint(strings.TrimPrefix(f[len(f)-2], "0x"), 16, 64)
		if err != nil {
			continue
		}
		for _, r := range ranges {
			if sp >= r[0] && sp < r[1] && !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// pickInterps returns the interpreters named (a minor such as "3.12", or a name
// such as "unstable-3.14"; the first match each), for tests too slow to run under
// every one. A name with no interpreter is skipped loudly (fatal under
// PYHANG_REQUIRE_ALL=1).
func pickInterps(t *testing.T, names ...string) []testinterp.Interp {
	t.Helper()
	all := testinterp.All(t)
	var out []testinterp.Interp
	for _, n := range names {
		found := false
		for _, in := range all {
			if in.Name == n || fmt.Sprintf("3.%d", in.Minor) == n && strings.HasPrefix(in.Name, "pyenv-") {
				out = append(out, in)
				found = true
				break
			}
		}
		if !found {
			msg := fmt.Sprintf("no interpreter %s among those found (listed above)", n)
			if os.Getenv("PYHANG_REQUIRE_ALL") == "1" {
				t.Fatal(msg)
			}
			t.Log("SKIP " + msg)
		}
	}
	if len(out) == 0 {
		t.Skip("none of the interpreters " + strings.Join(names, ", "))
	}
	var used []string
	for _, in := range out {
		used = append(used, in.Name)
	}
	t.Logf("this test runs under %s", strings.Join(used, ", "))
	return out
}
