package scenarios

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// TestHostileNames: every string a report takes from the target (thread
// names, global names, function and file names, quoted lines, warnings) is
// shown escaped in text and kept exact in JSON. testprogs/hostile_names.py
// deadlocks with escape sequences in all of them.
func TestHostileNames(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			p := startProgram(t, in, "hostile_names.py")
			var ready struct {
				Expect struct {
					CycleThreads []string `json:"cycle_threads"`
					Locks        []string `json:"locks"`
					Function     string   `json:"function"`
					File         string   `json:"file"`
				} `json:"expect"`
			}
			if err := json.Unmarshal(p.raw, &ready); err != nil {
				t.Fatal(err)
			}
			want := ready.Expect
			pid := strconv.Itoa(p.PID)
			for _, args := range [][]string{{"diagnose", pid}, {"dump", pid}, {"dump", pid, "--locals"}} {
				r := runPyhang(t, args...)
				if r.code != 0 && r.code != 3 {
					t.Fatalf("%v", r)
				}
				checkEscaped(t, strings.Join(args[:len(args)-1], " "), r.stdout)
			}
			dot := filepath.Join(t.TempDir(), "g.dot")
			if r := runPyhang(t, "graph", pid, "-o", dot); r.code != 0 {
				t.Fatalf("%v", r)
			}
			b, err := os.ReadFile(dot)
			if err != nil {
				t.Fatal(err)
			}
			checkEscaped(t, "graph .dot", b)

			r := runPyhang(t, "diagnose", pid, "--format", "json")
			var d diagnosis
			if err := json.Unmarshal(r.stdout, &d); err != nil {
				t.Fatalf("%v: %v", r, err)
			}
			problems := d.problems()
			if len(problems) != 1 || d.Findings[problems[0]].Kind != "deadlock" {
				t.Fatalf("want one deadlock, got %+v", d.Findings)
			}
			f := d.Findings[problems[0]]
			if got, w := d.names(f.Threads), slices.Sorted(slices.Values(want.CycleThreads)); !slices.Equal(got, w) {
				t.Errorf("JSON deadlock threads %q, want exactly %q", got, w)
			}
			for _, l := range want.Locks {
				if !strings.Contains(f.Summary, l) {
					t.Errorf("JSON summary %q lacks the exact lock name %q", f.Summary, l)
				}
			}
			raw := string(r.stdout)
			for _, s := range []string{want.Function, want.File} {
				q, _ := json.Marshal(s)
				if !strings.Contains(raw, string(q)) {
					t.Errorf("JSON lacks the exact string %s", q)
				}
			}
		})
	}
}

// checkEscaped fails on any character in text output that could drive a
// terminal: control characters but newline, invalid UTF-8, and format
// characters such as a right-to-left override.
func checkEscaped(t *testing.T, what string, out []byte) {
	t.Helper()
	if !strings.Contains(string(out), `\x1b`) {
		t.Errorf("%s: no escaped ESC (\\x1b) in the output: the hostile names are not shown", what)
	}
	for i := 0; i < len(out); {
		r, n := utf8.DecodeRune(out[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			t.Errorf("%s: invalid UTF-8 byte %#x at %d: %q", what, out[i], i, around(out, i))
			return
		case r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)):
			t.Errorf("%s: raw %U at %d: %q", what, r, i, around(out, i))
			return
		}
		i += n
	}
}

func around(b []byte, i int) string {
	lo, hi := max(0, i-40), min(len(b), i+40)
	return string(b[lo:hi])
}
