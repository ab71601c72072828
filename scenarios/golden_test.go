package scenarios

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// goldenInterp is the interpreter the golden reports are written with: the
// stacks quote its standard library's line numbers.
const goldenInterp = "pyenv-3.12.1"

var goldenPrograms = []string{"deadlock.py", "self_deadlock.py", "deadlock_rlock_join.py", "orphaned_lock.py", "held_by_bare_acquire.py"}

// TestGolden compares the text report of `pyhang diagnose` with the reviewed
// reports in testdata/golden, after replacing what changes from run to run
// (tids, addresses, paths, the pause). Regenerate with
//
//	PYHANG_UPDATE_GOLDEN=1 go test ./scenarios -run TestGolden
//
// which refuses to overwrite reports that have uncommitted changes.
func TestGolden(t *testing.T) {
	var in testinterp.Interp
	found := false
	for _, i := range testinterp.All(t) {
		if i.Name == goldenInterp {
			in, found = i, true
		}
	}
	if !found {
		if os.Getenv("PYHANG_REQUIRE_ALL") == "1" {
			t.Fatalf("%s is needed for the golden reports and is missing", goldenInterp)
		}
		t.Skipf("SKIP: %s is not installed (the golden reports quote its stdlib lines)", goldenInterp)
	}
	update := os.Getenv("PYHANG_UPDATE_GOLDEN") == "1"
	dir := filepath.Join("testdata", "golden")
	if update {
		out, err := exec.Command("git", "status", "--porcelain", "--", dir).Output()
		if err != nil || len(out) > 0 {
			t.Fatalf("refusing to regenerate: %s has uncommitted changes (or git failed: %v):\n%s", dir, err, out)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, prog := range goldenPrograms {
		t.Run(strings.TrimSuffix(prog, ".py"), func(t *testing.T) {
			p := startProgram(t, in, prog)
			r := runPyhang(t, "diagnose", strconv.Itoa(p.PID))
			if r.code != 0 && r.code != 3 {
				t.Fatalf("%v", r)
			}
			got := normalise(string(r.stdout), p.PID)
			path := filepath.Join(dir, strings.TrimSuffix(prog, ".py")+".txt")
			if update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (regenerate with PYHANG_UPDATE_GOLDEN=1)", err)
			}
			if got != string(want) {
				t.Errorf("report differs from %s (regenerate with PYHANG_UPDATE_GOLDEN=1 after review):\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

var (
	hexAddr   = regexp.MustCompile(`0x[0-9a-f]+`)
	tidRef    = regexp.MustCompile(`(tid |Thread )(\d+)`)
	identRef  = regexp.MustCompile(`(ident )(\d+)`)
	pausedMS  = regexp.MustCompile(`paused [0-9.]+ ms|not paused: no thread ran while it was read`)
	tmpSuffix = regexp.MustCompile(`pyhang-[A-Za-z0-9_-]+`)
)

// normalise replaces what differs between runs: thread ids, idents and
// addresses (each numbered in order of appearance, so that a wait and a hold
// of the same lock still show the same label, and of different locks
// different ones), the pid, the checkout's and interpreter's paths, and the
// pause (or that an idle target needed none).
func normalise(s string, pid int) string {
	repo, _ := filepath.Abs("..")
	s = strings.ReplaceAll(s, repo, "@REPO@")
	if home, err := os.UserHomeDir(); err == nil {
		s = strings.ReplaceAll(s, home, "~")
	}
	s = strings.ReplaceAll(s, "Process "+strconv.Itoa(pid), "Process PID")
	s = pausedMS.ReplaceAllString(s, "paused N ms")
	s = tmpSuffix.ReplaceAllString(s, "pyhang-TMP")
	addrs := map[string]string{}
	s = hexAddr.ReplaceAllStringFunc(s, func(m string) string { return label(addrs, m, "0xA") })
	idents := map[string]string{}
	s = identRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := identRef.FindStringSubmatch(m)
		return sub[1] + label(idents, sub[2], "I")
	})
	tids := map[string]string{}
	return tidRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := tidRef.FindStringSubmatch(m)
		if sub[2] == strconv.Itoa(pid) {
			return sub[1] + "PID"
		}
		return sub[1] + label(tids, sub[2], "T")
	})
}

// label numbers the values of one kind in order of first appearance.
func label(seen map[string]string, v, prefix string) string {
	n, ok := seen[v]
	if !ok {
		n = fmt.Sprintf("%s%d", prefix, len(seen)+1)
		seen[v] = n
	}
	return n
}

// lineDiff shows the first differing lines.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}
