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
