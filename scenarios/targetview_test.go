package scenarios

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// TestTargetView: pyhang reads a target's source files through the target's
// own view of the file system, never the host's file of the same name. The
// readers/writers program runs from a folder that exists only in its own
// mount namespace (a tmpfs mounted over it by `unshare -m`); on the host the
// same folder holds a decoy copy with its acquire() renamed. A proven
// orphaned-lock naming the real acquire() line shows pyhang read the
// target's file; the decoy would leave it "possibly orphaned".
func TestTargetView(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("unshare (util-linux) is needed for this test: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIP: mounting in a new mount namespace needs root")
	}
	in, ok := firstPyenv(testinterp.All(t))
	if !ok {
		t.Skip("no pyenv interpreter (listed above)")
	}
	src, err := filepath.Abs(filepath.Join("..", "testprogs"))
	if err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(t.TempDir(), "app")
	if err := os.Mkdir(app, 0o755); err != nil {
		t.Fatal(err)
	}
	real, err := os.ReadFile(filepath.Join(src, "talk_readers_writers.py"))
	if err != nil {
		t.Fatal(err)
	}
	decoy := strings.ReplaceAll(string(real), "file_lock.acquire()", "file_lock.acquire_elsewhere()")
	if decoy == string(real) {
		t.Fatal("the decoy does not differ from the program: the test could not fail")
	}
	if err := os.WriteFile(filepath.Join(app, "talk_readers_writers.py"), []byte(decoy), 0o644); err != nil {
		t.Fatal(err)
	}
	wrap := []string{"unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs pyhang-test "$0" && cp "$1"/*.py "$0"/ && shift && exec "$@"`, app, src}
	p := startProgramAt(t, in, wrap, filepath.Join(app, "talk_readers_writers.py"))
	var want struct {
		Expect expectation `json:"expect"`
	}
	if err := json.Unmarshal(p.raw, &want); err != nil {
		t.Fatal(err)
	}
	r := runPyhang(t, "diagnose", strconv.Itoa(p.PID), "--format", "json")
	var d diagnosis
	if err := json.Unmarshal(r.stdout, &d); err != nil {
		t.Fatalf("%v: %v", r, err)
	}
	problems := d.problems()
	if len(problems) != 1 || d.Findings[problems[0]].Kind != "orphaned-lock" || d.Findings[problems[0]].Severity != "error" {
		t.Fatalf("want one proven orphaned-lock (read from the target's own file), got %+v", d.Findings)
	}
	site := "talk_readers_writers.py:" + strconv.Itoa(want.Expect.AcquireSite)
	if ev := strings.Join(d.Findings[problems[0]].Evidence, " "); !strings.Contains(ev, site) {
		t.Errorf("evidence does not name the acquire() at %s: %q", site, ev)
	}
	t.Logf("%s", d.Findings[problems[0]].Summary)
}

// TestRelativeScript: a script started by a relative path, as `python
// testprogs/self_deadlock.py` from the folder above a copy of testprogs (the
// program's working directory, where the kernel writes its core). Up to 3.8 its code
// is named by that relative path, and a core records no working directory:
// pyhang takes the directory it was started from from sys.argv[0] and
// sys.path[0]. The with statement that holds the lock is then read from the
// source, as live, and named exactly (not "a with block enclosing" the line);
// live too, after the process has changed its working directory.
func TestRelativeScript(t *testing.T) {
	src, err := filepath.Abs(filepath.Join("..", "testprogs"))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(src, "self_deadlock.py")
	// Copy the programs into testprogs/ of the working directory, and name
	// the script by its path relative to it.
	wrap := []string{"sh", "-c", `mkdir testprogs && cp "$0"/*.py testprogs/ || exit 1; s=$1; shift; for a; do if [ "$a" = "$s" ]; then set -- "$@" "testprogs/${s##*/}"; else set -- "$@" "$a"; fi; shift; done; exec "$@"`,
		src, script}
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			p := startProgramAt(t, in, wrap, script)
			var ready struct {
				Expect struct {
					HeldAt int `json:"held_at"`
				} `json:"expect"`
			}
			if err := json.Unmarshal(p.raw, &ready); err != nil {
				t.Fatal(err)
			}
			check := func(t *testing.T, w way) {
				r := runPyhang(t, "diagnose", w.target, "--format", "json")
				var d struct {
					diagnosis
					Threads []struct {
						Name   string `json:"name"`
						Frames []struct {
							File string `json:"file"`
						} `json:"frames"`
					} `json:"threads"`
				}
				if err := json.Unmarshal(r.stdout, &d); err != nil {
					t.Fatalf("%v: %v", r, err)
				}
				if err := json.Unmarshal(r.stdout, &d.diagnosis); err != nil {
					t.Fatalf("%v: %v", r, err)
				}
				for _, th := range d.Threads {
					if th.Name == "reloader" && len(th.Frames) > 0 {
						rel := !filepath.IsAbs(th.Frames[0].File)
						if in.Minor <= 8 && !rel {
							t.Fatalf("the script's frame is %s: want the relative path Python 3.%d names it by", th.Frames[0].File, in.Minor)
						}
						t.Logf("the script's frame: %s", th.Frames[0].File)
					}
				}
				i := d.onlyProblem(t, "deadlock")
				var dd struct {
					Cycle []struct {
						HeldBy []struct {
							Basis []struct {
								Basis     string `json:"basis"`
								Enclosing bool   `json:"enclosing"`
								At        *struct {
									Line int `json:"line"`
								} `json:"at"`
							} `json:"basis"`
						} `json:"held_by"`
					} `json:"cycle"`
				}
				if err := json.Unmarshal(d.Findings[i].Details, &dd); err != nil || len(dd.Cycle) != 1 || len(dd.Cycle[0].HeldBy) != 1 || len(dd.Cycle[0].HeldBy[0].Basis) == 0 {
					t.Fatalf("deadlock details: %v %s", err, d.Findings[i].Details)
				}
				ev := dd.Cycle[0].HeldBy[0].Basis[0]
				if ev.Basis != "with-block" || ev.Enclosing || ev.At == nil || ev.At.Line != ready.Expect.HeldAt {
					t.Errorf("held on %+v, want the with statement at line %d read from the source", ev, ready.Expect.HeldAt)
				}
			}
			lookEachWay(t, p.lookable(), check)
			// A process that left the directory it started in, as a daemon
			// does: its own working directory no longer leads to the script.
			t.Run("live-after-chdir", func(t *testing.T) {
				moved := startProgramAt(t, in, wrap, script, "--chdir", "/")
				check(t, way{target: strconv.Itoa(moved.PID), live: true})
			})
		})
	}
}

// TestRelativeScriptMoved: a script started by a bare relative name from its
// own folder, `python relative_script.py`, whose sys.path[0] no longer leads
// to it. With --decoy the program puts first on sys.path a folder holding a
// file of its own name, all comments; with --subinterpreter it creates a
// subinterpreter, whose sys.path is its own. Up to 3.8 the script's frames
// are named by the bare name, so pyhang must find the file the process
// runs: each frame of the script quotes the script's own line, live and
// from a core, never the decoy's comment; from a 3.8 core, which records no
// working directory, a warning says what the file was found by.
func TestRelativeScriptMoved(t *testing.T) {
	src, err := filepath.Abs(filepath.Join("..", "testprogs"))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(src, "relative_script.py")
	text, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	// Copy the programs into the working directory, and name the script by
	// its bare name there.
	wrap := []string{"sh", "-c", `cp "$0"/*.py . || exit 1; s=$1; shift; for a; do if [ "$a" = "$s" ]; then set -- "$@" "${s##*/}"; else set -- "$@" "$a"; fi; shift; done; exec "$@"`,
		src, script}
	for _, mode := range []string{"--decoy", "--subinterpreter"} {
		t.Run(strings.TrimPrefix(mode, "--"), func(t *testing.T) {
			for _, in := range testinterp.All(t) {
				t.Run(in.Name, func(t *testing.T) {
					t.Parallel()
					p := startProgramAt(t, in, wrap, script, mode)
					check := func(t *testing.T, w way, pyhangCore bool) {
						s, _ := dumpJSON(t, w.target)
						quoted := 0
						for _, th := range s.Threads {
							for _, f := range th.Frames {
								if filepath.Base(f.File) != "relative_script.py" {
									continue
								}
								if in.Minor <= 8 && filepath.IsAbs(f.File) {
									t.Fatalf("the script's frame is %s: want the relative path Python 3.%d names it by", f.File, in.Minor)
								}
								if f.Line < 1 || f.Line > len(lines) {
									t.Fatalf("%s:%d: no such line in the script", f.File, f.Line)
								}
								want := strings.TrimLeft(strings.TrimRight(lines[f.Line-1], " \t\r\f\v"), " \t\f\v")
								if f.Source != want {
									t.Errorf("%s:%d in %s quotes %q, want the script's own line %q", f.File, f.Line, f.Function, f.Source, want)
								}
								quoted++
							}
						}
						if quoted < 3 {
							t.Errorf("%d frames of the script, want at least 3 (serve, main, <module>)", quoted)
						}
						found := false
						for _, m := range s.Target.Warnings {
							found = found || strings.HasPrefix(m, "source relative_script.py: lines quoted from ")
							t.Logf("warning: %s", m)
						}
						switch {
						case in.Minor <= 8 && !w.live && !pyhangCore && !found:
							t.Errorf("no warning says what the script's file was found by, in a core that records no working directory")
						case pyhangCore:
							for _, m := range s.Target.Warnings {
								if strings.Contains(m, "records no working directory") {
									t.Errorf("a core pyhang core wrote records the working directory: %s", m)
								}
							}
						}
					}
					// Before the looks, the last of which kills the process.
					t.Run("pyhang-core", func(t *testing.T) {
						core, _, _ := writeCore(t, p.PID)
						check(t, way{target: core}, true)
					})
					lookEachWay(t, p.lookable(), func(t *testing.T, w way) { check(t, w, false) })
				})
			}
		})
	}
}
