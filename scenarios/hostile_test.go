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

// TestNonUTF8Path: a module whose directory name is not UTF-8 (kept by
// Python with surrogate escapes) is named by its real bytes: the text shows
// them escaped, and its source lines are quoted, which only the real name
// opens. testprogs/nonutf8_path.py waits in such a module.
func TestNonUTF8Path(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			p := startProgram(t, in, "nonutf8_path.py")
			var ready struct {
				Expect struct {
					Source string `json:"source"`
					Dir    string `json:"dir_escaped"`
				} `json:"expect"`
			}
			if err := json.Unmarshal(p.raw, &ready); err != nil {
				t.Fatal(err)
			}
			want := ready.Expect
			lookEachWay(t, p.lookable(), func(t *testing.T, w way) {
				r := runPyhang(t, "dump", w.target)
				if r.code != 0 {
					t.Fatalf("%v", r)
				}
				if !utf8.Valid(r.stdout) {
					t.Errorf("the text dump is not UTF-8")
				}
				text := string(r.stdout)
				if !strings.Contains(text, "/"+want.Dir+"/settling.py\", line 2, in settle\n    "+want.Source+"\n") {
					t.Errorf("the text dump does not show settling.py under %s with its line %q:\n%s", want.Dir, want.Source, text)
				}
				r = runPyhang(t, "dump", w.target, "--format", "json")
				var d struct {
					Threads []struct {
						Name   string `json:"name"`
						Frames []struct {
							Function string `json:"function"`
							Source   string `json:"source"`
						} `json:"frames"`
					} `json:"threads"`
				}
				if err := json.Unmarshal(r.stdout, &d); err != nil {
					t.Fatalf("%v: %v", r, err)
				}
				for _, th := range d.Threads {
					if th.Name == "settler" && (len(th.Frames) == 0 || th.Frames[0].Function != "settle" || th.Frames[0].Source != want.Source) {
						t.Errorf("settler's innermost frame %+v, want settle quoting %q", th.Frames, want.Source)
					}
				}
			})
		})
	}
}
