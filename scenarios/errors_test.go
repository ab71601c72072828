package scenarios

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// TestErrors checks that pyhang fails cleanly on targets it cannot read: exit code 1 and
// one line on stderr that says what is wrong (2 for a usage error), never a panic.
func TestErrors(t *testing.T) {
	t.Run("no-such-pid", func(t *testing.T) {
		pid := missingPID(t)
		r := runPyhang(t, "dump", strconv.Itoa(pid))
		wantFailure(t, r, 1, `(?i)no (such )?process`, regexp.QuoteMeta(strconv.Itoa(pid)))
	})
	t.Run("not-python", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sleep := exec.CommandContext(ctx, "sleep", "100")
		if err := sleep.Start(); err != nil {
			t.Fatalf("starting sleep: %v", err)
		}
		defer func() { cancel(); _ = sleep.Wait() }()
		waitExec(t, sleep.Process.Pid, "sleep")
		r := runPyhang(t, "dump", strconv.Itoa(sleep.Process.Pid))
		wantFailure(t, r, 1, `(?i)not a python process`)
		assertNotStopped(t, sleep.Process.Pid)
	})
	t.Run("text-file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "notes.txt")
		writeFile(t, path, "this is not a core file\n")
		wantFailure(t, runPyhang(t, "dump", path), 1, `(?i)not an ELF`, regexp.QuoteMeta(path))
	})
	t.Run("empty-file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "empty.core")
		writeFile(t, path, "")
		wantFailure(t, runPyhang(t, "dump", path), 1, `(?i)empty`, regexp.QuoteMeta(path))
	})
	t.Run("no-such-file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gone.core")
		wantFailure(t, runPyhang(t, "dump", path), 1, `(?i)no such file`, regexp.QuoteMeta(path))
	})
	t.Run("bad-format", func(t *testing.T) {
		wantFailure(t, runPyhang(t, "dump", "1", "--format", "xml"), 2, `--format`, `xml`)
	})
	t.Run("core", testCoreErrors)
}

// testCoreErrors breaks a real gcore of a pyenv Python two ways: its mapped files are
// missing (an empty --sysroot), then it is cut short.
func testCoreErrors(t *testing.T) {
	in, ok := firstPyenv(testinterp.All(t))
	if !ok {
		t.Skip("no pyenv interpreter: the core error tests need a shared-libpython build")
	}
	p := startProgram(t, in, "parked.py")
	core := testinterp.Gcore(t, p.PID)

	t.Run("sysroot-missing-files", func(t *testing.T) {
		r := runPyhang(t, "dump", core, "--sysroot", t.TempDir())
		line := wantFailure(t, r, 1, `--sysroot`, `--exe`, `(?i)not found|missing`)
		// The first file pyhang misses is the executable or libpython: the line names it.
		exe, _ := filepath.EvalSymlinks(in.Cmd[0])
		if !strings.Contains(line, exe) && !strings.Contains(line, in.Binary) {
			t.Errorf("stderr names neither %s nor %s: %s", exe, in.Binary, line)
		}
	})

	// Cut ever shorter: half (gdb writes its notes at the end, so they are lost), one
	// page (headers only), 64 bytes (the ELF header alone).
	st, err := os.Stat(core)
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []struct {
		name string
		size int64
	}{{"gcore-truncated-half", st.Size() / 2}, {"gcore-truncated-4KiB", 4096}, {"gcore-truncated-64B", 64}} {
		t.Run(cut.name, func(t *testing.T) {
			if err := os.Truncate(core, cut.size); err != nil {
				t.Fatal(err)
			}
			wantTruncated(t, core)
		})
	}

	// The kernel writes its notes first, so half a kernel core keeps the threads and
	// loses memory instead. This kills the program, so it comes last.
	t.Run("kernel-core-truncated-half", func(t *testing.T) {
		kcore, ok := testinterp.KernelCore(t, p.Started)
		if !ok {
			t.Skip("the kernel wrote no core file on this machine (reason logged above)")
		}
		st, err := os.Stat(kcore)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(kcore, st.Size()/2); err != nil {
			t.Fatal(err)
		}
		wantTruncated(t, kcore)
		wantNotHealthy(t, kcore)
	})
}

// wantNotHealthy requires diagnose of a core that lost memory never to call the
// process healthy: it proves a problem (3), says the snapshot is incomplete
// (4, with what is missing), or cannot analyse it (1).
func wantNotHealthy(t *testing.T, core string) {
	t.Helper()
	r := runPyhang(t, "diagnose", core, "--format", "json")
	switch r.code {
	case 1, 3:
		t.Logf("diagnose exit %d", r.code)
	case 4:
		var rep struct {
			Target struct {
				Missing []string `json:"missing"`
			} `json:"target"`
		}
		if err := json.Unmarshal(r.stdout, &rep); err != nil || len(rep.Target.Missing) == 0 {
			t.Errorf("exit 4 without target.missing (%v): %s", err, tail(r.stdout, 300))
		}
		text := runPyhang(t, "diagnose", core)
		if text.code != 4 || !strings.Contains(string(text.stdout), "incomplete") {
			t.Errorf("text report: exit %d, want 4 and a word on the snapshot being incomplete:\n%s", text.code, tail(text.stdout, 500))
		}
		t.Logf("diagnose exit 4, missing: %q", rep.Target.Missing)
	default:
		t.Errorf("diagnose of a truncated core: exit %d, want 1, 3 or 4 (never healthy)\n%v", r.code, r)
	}
}

// wantTruncated requires pyhang either to read the cut core with a "truncated" warning or
// to fail saying "truncated" — never to panic or pass over it in silence.
func wantTruncated(t *testing.T, core string) {
	t.Helper()
	r := runPyhang(t, "dump", core, "--format", "json")
	if r.code != 0 {
		wantFailure(t, r, 1, `(?i)truncated`)
		return
	}
	s, _ := dumpJSON(t, core)
	for _, w := range s.Target.Warnings {
		if strings.Contains(strings.ToLower(w), "truncated") {
			t.Logf("dumped %d threads with warning: %s", len(s.Threads), w)
			return
		}
	}
	t.Errorf("truncated core: exit 0 without a truncated warning; warnings %q", s.Target.Warnings)
}

// wantFailure requires exit code code and a single stderr line matching every pattern,
// and returns the line.
func wantFailure(t *testing.T, r result, code int, patterns ...string) string {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d\n%v\nstdout: %s", r.code, code, r, tail(r.stdout, 500))
	}
	line := stderrLine(t, r)
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(line) {
			t.Errorf("stderr does not match %q: %s", p, line)
		}
	}
	t.Logf("exit %d: %s", r.code, line)
	return line
}

// waitExec waits until pid runs the program named comm (exec has happened).
func waitExec(t *testing.T, pid int, comm string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); err == nil && strings.TrimSpace(string(b)) == comm {
			return
		}
	}
	t.Fatalf("pid %d does not run %s after 10s", pid, comm)
}

func firstPyenv(ins []testinterp.Interp) (testinterp.Interp, bool) {
	for _, in := range ins {
		if strings.HasPrefix(in.Name, "pyenv-") && !in.Static {
			return in, true
		}
	}
	return testinterp.Interp{}, false
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
