package main_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// renderBin is this command, built once by TestMain. The tests run the binary and
// are an external test package so that this test binary does not link go-graphviz
// and the guard, which points this process's TMPDIR away from temporary directories.
var renderBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pyhang-render-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	renderBin = filepath.Join(dir, "pyhang-render")
	out, err := exec.Command("go", "build", "-o", renderBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build cmd/pyhang-render: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// A graph as waitgraph writes them: a cycle in red.
const cycleDOT = `strict digraph waitgraph {
  rankdir=LR;
  "tid:1" [shape=box, label="posting", color=red];
  "res:lock@0x10" [shape=ellipse, label="ledger", color=red];
  "tid:1" -> "res:lock@0x10" [label="waits for", color=red];
  "res:lock@0x10" -> "tid:1" [label="held by", color=red];
}
`

type result struct {
	stdout, stderr []byte
	code           int
}

// runRender runs the renderer with env (only), stdin and args.
func runRender(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	return runCmd(t, newCmd(env, stdin, args...))
}

func newCmd(env []string, stdin string, args ...string) *exec.Cmd {
	cmd := exec.Command(renderBin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return finish(t, cmd, cmd.Run(), &out, &errb)
}

func finish(t *testing.T, cmd *exec.Cmd, err error, out, errb *bytes.Buffer) result {
	t.Helper()
	r := result{stdout: out.Bytes(), stderr: errb.Bytes()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	return r
}

func svgText(t *testing.T, b []byte) string {
	t.Helper()
	var text []string
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return strings.Join(text, "\n")
		}
		if err != nil {
			t.Fatalf("the SVG does not parse: %v\n%s", err, b)
		}
		if cd, ok := tok.(xml.CharData); ok {
			text = append(text, string(cd))
		}
	}
}

func TestDraw(t *testing.T) {
	r := runRender(t, nil, cycleDOT, "svg")
	if r.code != 0 || len(r.stderr) != 0 {
		t.Fatalf("svg: exit %d, stderr %s", r.code, r.stderr)
	}
	if text := svgText(t, r.stdout); !strings.Contains(text, "posting") || !strings.Contains(text, "ledger") {
		t.Errorf("the SVG does not show the graph's labels: %q", text)
	}
	if !bytes.Contains(r.stdout, []byte(`stroke="red"`)) {
		t.Error("the SVG draws nothing red")
	}
	r = runRender(t, nil, cycleDOT, "png")
	if r.code != 0 || !bytes.HasPrefix(r.stdout, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("png: exit %d, %d bytes, stderr %s", r.code, len(r.stdout), r.stderr)
	}
	r = runRender(t, nil, "", "--help")
	if r.code != 0 || !strings.HasPrefix(string(r.stdout), "usage: pyhang-render svg|png") {
		t.Errorf("--help: exit %d, stdout %q", r.code, r.stdout)
	}
}

// TestErrors: one line on stderr, nothing on stdout, exit 2 for usage, 1 otherwise.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		stdin string
		code  int
		say   string
	}{
		{nil, cycleDOT, 2, "usage: pyhang-render svg|png"},
		{[]string{"gif"}, cycleDOT, 2, "usage"},
		{[]string{"svg", "png"}, cycleDOT, 2, "usage"},
		{[]string{"svg"}, "", 1, "no DOT graph on stdin"},
		{[]string{"svg"}, "digraph {", 1, "could not parse"},
		{[]string{"png"}, "\x00\xff\n\x1b[2J", 1, "graphviz"},
	} {
		r := runRender(t, nil, tc.stdin, tc.args...)
		line := string(r.stderr)
		if r.code != tc.code || len(r.stdout) != 0 || strings.Count(line, "\n") != 1 ||
			!strings.HasPrefix(line, "pyhang-render: ") || !strings.Contains(line, tc.say) {
			t.Errorf("pyhang-render %q <%q: exit %d, %d bytes out, stderr %q; want exit %d and one line saying %q",
				tc.args, tc.stdin, r.code, len(r.stdout), line, tc.code, tc.say)
		}
	}
}

// TestGuardRunsFirst: the guard that sets TMPDIR must run before go-graphviz's init
// reads it. Go orders package inits by dependencies and import path; this checks
// the order in the built binary.
func TestGuardRunsFirst(t *testing.T) {
	r := runRender(t, []string{"GODEBUG=inittrace=1"}, "", "--help")
	var order []string
	for line := range strings.Lines(string(r.stderr)) {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "init" {
			order = append(order, f[1])
		}
	}
	guard := indexOf(order, "github.com/pyhang/pyhang/internal/rendercache/guard")
	wasm := indexOf(order, "github.com/goccy/go-graphviz/internal/wasm")
	t.Logf("init order: guard %d, go-graphviz's wasm %d of %d package inits", guard, wasm, len(order))
	if guard < 0 || wasm < 0 || guard > wasm {
		t.Errorf("the guard must initialise before go-graphviz's internal/wasm; inits:\n%s", strings.Join(order, "\n"))
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// TestCacheOnlyWhenPrivate: the renderer keeps go-graphviz's compiled code in TMPDIR
// only when that is the user's own private directory, and otherwise touches nothing in
// it: not a shared temporary directory, not one holding another user's files.
func TestCacheOnlyWhenPrivate(t *testing.T) {
	private := filepath.Join(testinterp.PrivateDir(t), "cache")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{"TMPDIR=" + private}
	if r := runRender(t, env, cycleDOT, "svg"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(private, "go-graphviz", "wazero-*", "*"))
	if len(files) == 0 {
		t.Fatalf("no compiled code cached in the private %s", private)
	}
	t.Logf("cached: %s", strings.Join(files, ", "))
	// The second run loads it from there.
	trace, err := testinterp.Traced(t, newCmd(env, cycleDOT, "svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(trace, files[0]) {
		t.Errorf("the second run did not read the cache %s:\n%s", files[0], trace)
	}

	// Another user's junk in a world-writable go-graphviz directory, as a local user
	// could leave in /tmp.
	planted := plant(t)
	for name, env := range map[string][]string{
		"planted TMPDIR":           {"TMPDIR=" + planted},
		"no TMPDIR, so /tmp":       nil,
		"relative TMPDIR":          {"TMPDIR=."},
		"private with junk inside": {"TMPDIR=" + privateWithJunk(t)},
	} {
		trace, err := testinterp.Traced(t, newCmd(env, cycleDOT, "svg"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		// The renderer checks the directory TMPDIR names; it must go no further.
		for _, dir := range []string{planted + "/", "/tmp/go-graphviz/"} {
			if strings.Contains(trace, dir) {
				t.Errorf("%s: the renderer touched %s:\n%s", name, dir, grepLines(trace, dir))
			}
		}
	}
}

// plant makes a world-writable go-graphviz cache directory full of junk owned by
// another user (nobody) in a new directory, and returns that directory.
func plant(t *testing.T) string {
	t.Helper()
	uid, gid := nobody(t)
	dir := t.TempDir()
	sub := filepath.Join(dir, "go-graphviz", "wazero-v1.10.1-amd64-linux")
	if err := os.MkdirAll(sub, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "go-graphviz"), sub} {
		os.Chmod(p, 0o777)
		os.Chown(p, uid, gid)
	}
	for i := range 8 {
		p := filepath.Join(sub, fmt.Sprintf("%064x", i))
		if err := os.WriteFile(p, bytes.Repeat([]byte{0xcc}, 4096), 0o666); err != nil {
			t.Fatal(err)
		}
		os.Chown(p, uid, gid)
	}
	return dir
}

// privateWithJunk is a private directory whose go-graphviz cache holds a file another
// user owns.
func privateWithJunk(t *testing.T) string {
	t.Helper()
	uid, gid := nobody(t)
	dir := filepath.Join(testinterp.PrivateDir(t), "cache")
	sub := filepath.Join(dir, "go-graphviz", "wazero-v1.10.1-amd64-linux")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(sub, fmt.Sprintf("%064x", 1))
	if err := os.WriteFile(p, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

func nobody(t *testing.T) (uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: planting another user's files needs root")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("SKIP: no user nobody: %v", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}

func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return strings.Join(out, "\n")
}
