package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
	"github.com/pyhang/pyhang/testprogs"
)

// Root safety: pyhang runs as root beside other users' processes. These tests run the
// built binaries the way an operator would and check that no run reads or writes
// anything under $TMPDIR (where go-graphviz used to keep compiled code that any user
// could plant), that rendering caches live only in the user's own cache directory, and
// that root and an unprivileged user can both use pyhang on one machine, whoever ran
// it first.

// invocation is one run of a built binary.
type invocation struct {
	bin  string
	args []string
	env  []string // the whole environment
	dir  string
	cred *syscall.Credential // nil: as the test's user
}

func (inv invocation) command(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, inv.bin, inv.args...)
	cmd.Env, cmd.Dir = inv.env, inv.dir
	if inv.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: inv.cred}
	}
	return cmd
}

func (inv invocation) run(t *testing.T) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pyhangTimeout)
	defer cancel()
	cmd := inv.command(ctx)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	return inv.result(t, cmd.Run(), &stdout, &stderr, start)
}

// traced runs the invocation under strace and returns the trace too.
func (inv invocation) traced(t *testing.T) (result, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pyhangTimeout)
	defer cancel()
	cmd := inv.command(ctx)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	trace, err := testinterp.Traced(t, cmd)
	return inv.result(t, err, &stdout, &stderr, start), trace
}

func (inv invocation) result(t *testing.T, err error, stdout, stderr *bytes.Buffer, start time.Time) result {
	t.Helper()
	r := result{args: inv.args, stdout: stdout.Bytes(), stderr: stderr.Bytes(), elapsed: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Exited():
		r.code = exit.ExitCode()
	default:
		t.Fatalf("%s %s: %v\nstderr: %s", inv.bin, strings.Join(inv.args, " "), err, tail(stderr.Bytes(), 2000))
	}
	return r
}

// withEnv returns os.Environ() with the given variables set (an empty value unsets).
func withEnv(set map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := set[name]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range set {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// listDir describes everything under dir: path, mode, owner, size, mtime and, for
// files, atime (whose update under relatime shows a read of a file whose atime is not
// newer than its mtime; a directory's changes as this very walk reads it).
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %v uid=%d size=%d mtime=%d", p, info.Mode(), st.Uid, info.Size(), info.ModTime().UnixNano())
		if !d.IsDir() {
			line += fmt.Sprintf(" atime=%d", st.Atim.Nano())
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// nobodyUser is the unprivileged user the tests run pyhang as.
func nobodyUser(t *testing.T) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: running pyhang as another user needs root")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("SKIP: no user nobody to run pyhang as: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// plantCache makes dir hold what a hostile local user could leave in a shared
// temporary directory: a world-writable go-graphviz/ directory of their own, full of
// junk where go-graphviz's compiled code would be.
func plantCache(t *testing.T, dir string, owner *syscall.Credential) {
	t.Helper()
	sub := filepath.Join(dir, "go-graphviz", "wazero-v1.10.1-amd64-linux")
	if err := os.MkdirAll(sub, 0o777); err != nil {
		t.Fatal(err)
	}
	for i := range 16 {
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("%064x", i)), bytes.Repeat([]byte{0xcc}, 4096), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if err := filepath.WalkDir(filepath.Join(dir, "go-graphviz"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			os.Chmod(p, 0o777)
		} else {
			os.Chmod(p, 0o666)
		}
		return os.Chown(p, int(owner.Uid), int(owner.Gid))
	}); err != nil {
		t.Fatal(err)
	}
}

// TestTempDirUntouched: `--help`, `dump` and `diagnose` create nothing under a fresh
// $TMPDIR, and with a $TMPDIR holding another user's planted go-graphviz cache,
// neither they nor `diagnose --graph x.svg` (pyhang and the renderer it starts) touch
// anything in it, as strace shows; the picture's cache goes to the user's own cache
// directory instead.
func TestTempDirUntouched(t *testing.T) {
	in, ok := firstPyenv(testinterp.All(t))
	if !ok {
		t.Skip("SKIP: no pyenv interpreter (listed above)")
	}
	p := startProgram(t, in, "deadlock.py")
	pid := strconv.Itoa(p.PID)
	xdg := filepath.Join(testinterp.PrivateDir(t), "xdg")

	fresh := t.TempDir()
	env := withEnv(map[string]string{"TMPDIR": fresh, "XDG_CACHE_HOME": xdg})
	out := t.TempDir()
	for _, args := range [][]string{
		{"--help"},
		{"dump", pid},
		{"dump", pid, "--format", "json", "--locals"},
		{"diagnose", pid},
		{"diagnose", pid, "--format", "json", "--graph", filepath.Join(out, "g.dot")},
	} {
		r := invocation{bin: pyhangBin, args: args, env: env}.run(t)
		if r.code != 0 && r.code != 3 {
			t.Errorf("%v", r)
		}
		if left := listDir(t, fresh); len(left) > 1 {
			t.Errorf("pyhang %s left files in $TMPDIR:\n%s", strings.Join(args, " "), strings.Join(left[1:], "\n"))
		}
	}

	planted := t.TempDir()
	plantCache(t, planted, nobodyUser(t))
	before := listDir(t, planted)
	env = withEnv(map[string]string{"TMPDIR": planted, "XDG_CACHE_HOME": xdg})
	svg := filepath.Join(out, "g.svg")
	for _, args := range [][]string{
		{"--help"},
		{"dump", pid},
		{"diagnose", pid, "--graph", svg},
	} {
		r, trace := invocation{bin: pyhangBin, args: args, env: env}.traced(t)
		if r.code != 0 && r.code != 3 {
			t.Errorf("%v", r)
		}
		if strings.Contains(trace, planted) {
			t.Errorf("pyhang %s touched the planted $TMPDIR %s:\n%s", strings.Join(args, " "), planted, grepLines(trace, planted))
		}
		if !strings.Contains(trace, "execve(") {
			t.Errorf("pyhang %s: the trace shows no exec at all, so it shows nothing:\n%s", strings.Join(args, " "), tail([]byte(trace), 2000))
		}
	}
	if after := listDir(t, planted); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("the planted $TMPDIR changed:\nbefore:\n%s\nafter:\n%s", strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
	checkSVG(t, svg, "posting", "audit", "ledger", "audit_log")
	if cached, _ := filepath.Glob(filepath.Join(xdg, "pyhang", "go-graphviz", "wazero-*", "*")); len(cached) == 0 {
		t.Errorf("the renderer kept no cache in the user's own %s", filepath.Join(xdg, "pyhang"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return tail([]byte(strings.Join(out, "\n")), 4000)
}

// TestAnyUserAnyOrder: root and an unprivileged user (nobody) both run `pyhang --help`,
// `dump` and `graph -o x.svg` on nobody's own Python process with one shared $TMPDIR,
// root first and then nobody, and the other way round. Before pyhang stopped linking
// go-graphviz, root's first run left a 0700 cache in $TMPDIR and nobody's pyhang
// panicked at start-up.
func TestAnyUserAnyOrder(t *testing.T) {
	nobody := nobodyUser(t)
	in := interpFor(t, nobody)

	// Everything nobody needs to read: the binaries (root's, 0755, as pyhang requires of
	// the renderer) and the programs, in a directory anyone can reach.
	shared, err := os.MkdirTemp("", "pyhang-anyuser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shared) })
	os.Chmod(shared, 0o755)
	bin := filepath.Join(shared, "bin")
	os.Mkdir(bin, 0o755)
	for _, src := range []string{pyhangBin, renderBin} {
		copyFile(t, src, filepath.Join(bin, filepath.Base(src)), 0o755)
	}
	progs := filepath.Join(shared, "progs")
	os.Mkdir(progs, 0o755)
	entries, _ := testprogs.FS.ReadDir(".")
	for _, e := range entries {
		b, _ := testprogs.FS.ReadFile(e.Name())
		if err := os.WriteFile(filepath.Join(progs, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The users' own cache directories, where the renderer may keep compiled code.
	private := testinterp.PrivateDir(t)

	for _, order := range [][]string{{"root", "nobody"}, {"nobody", "root"}} {
		t.Run(strings.Join(order, "-then-"), func(t *testing.T) {
			name := strings.Join(order, "-")
			tmp := filepath.Join(shared, "tmp-"+name) // shared, like /tmp
			os.Mkdir(tmp, 0o777)
			os.Chmod(tmp, 0o1777)
			work := filepath.Join(shared, "work-"+name) // nobody's: the program's and the pictures'
			os.Mkdir(work, 0o755)
			os.Chown(work, int(nobody.Uid), int(nobody.Gid))
			caches := map[string]string{"root": filepath.Join(private, name, "root"), "nobody": filepath.Join(private, name, "nobody")}
			os.MkdirAll(filepath.Dir(caches["root"]), 0o755)
			for u, c := range caches {
				os.Mkdir(c, 0o700)
				if u == "nobody" {
					os.Chown(c, int(nobody.Uid), int(nobody.Gid))
				}
			}

			pid := startAs(t, in, nobody, filepath.Join(progs, "deadlock.py"), work)
			for _, who := range order {
				inv := invocation{bin: filepath.Join(bin, "pyhang"), dir: work,
					env: []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "TMPDIR=" + tmp, "XDG_CACHE_HOME=" + caches[who]}}
				if who == "nobody" {
					inv.cred = nobody
				}
				svg := filepath.Join(work, who+".svg")
				for _, args := range [][]string{{"--help"}, {"dump", pid}, {"graph", pid, "-o", svg}} {
					inv.args = args
					r := inv.run(t)
					if r.code != 0 {
						t.Errorf("as %s: %v", who, r)
						continue
					}
					switch args[0] {
					case "--help":
						if !strings.Contains(string(r.stdout), "diagnose") {
							t.Errorf("as %s: --help says:\n%s", who, r.stdout)
						}
					case "dump":
						if !strings.Contains(string(r.stdout), "deadlock.py") {
							t.Errorf("as %s: the dump shows no deadlock.py frame:\n%s", who, tail(r.stdout, 2000))
						}
					}
				}
				checkSVG(t, svg, "posting", "audit", "ledger")
				t.Logf("as %s (uid %d): --help, dump %s and graph -o %s: exit 0", who, map[string]uint32{"root": 0, "nobody": nobody.Uid}[who], pid, filepath.Base(svg))
			}
			if left := listDir(t, tmp); len(left) > 1 {
				t.Errorf("the shared $TMPDIR holds:\n%s", strings.Join(left[1:], "\n"))
			}
			for who, c := range caches {
				want := uint32(0)
				if who == "nobody" {
					want = nobody.Uid
				}
				files, _ := filepath.Glob(filepath.Join(c, "pyhang", "go-graphviz", "wazero-*", "*"))
				if len(files) == 0 && worldSearchable(c) {
					t.Errorf("%s's renderer kept no cache in %s", who, c)
				}
				for _, f := range files {
					var st syscall.Stat_t
					if syscall.Stat(f, &st) == nil && st.Uid != want {
						t.Errorf("%s's cache file %s belongs to uid %d", who, f, st.Uid)
					}
				}
			}
		})
	}
}

// worldSearchable reports whether every directory above p lets other users through.
func worldSearchable(p string) bool {
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == "/" {
			return true
		}
	}
}

// interpFor picks the first interpreter that user can run: pyenv's live under /root,
// which other users cannot read, so it is usually Debian's /usr/bin/python3. Skips,
// saying why for each, when there is none.
func interpFor(t *testing.T, cred *syscall.Credential) testinterp.Interp {
	t.Helper()
	var why []string
	for _, in := range testinterp.All(t) {
		cmd := in.Command(context.Background(), "-c", "import threading, json, sys; print(sys.version)")
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Logf("running Python as uid %d: %s (%s), the first interpreter that user can run", cred.Uid, in.Name, strings.Join(in.Cmd, " "))
			if len(why) > 0 {
				t.Logf("not usable by uid %d: %s", cred.Uid, strings.Join(why, "; "))
			}
			return in
		}
		why = append(why, fmt.Sprintf("%s: %v: %s", in.Name, err, strings.TrimSpace(tail(out, 200))))
	}
	t.Skipf("SKIP: no interpreter that uid %d can run: %s", cred.Uid, strings.Join(why, "; "))
	return testinterp.Interp{}
}

// startAs runs a testprogs program as cred in dir and waits until it is ready; it is
// killed when the test ends. It returns the pid.
func startAs(t *testing.T, in testinterp.Interp, cred *syscall.Credential, script, dir string) string {
	t.Helper()
	readyFile := filepath.Join(dir, "ready.json")
	cmd := in.Command(context.Background(), script, "--ready", readyFile)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s as uid %d: %v", script, cred.Uid, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	deadline := time.Now().Add(testinterp.ReadyTimeout)
	for {
		var r ready
		if b, err := os.ReadFile(readyFile); err == nil && json.Unmarshal(b, &r) == nil {
			if r.Error != "" {
				t.Fatalf("%s as uid %d: %s", script, cred.Uid, r.Error)
			}
			if w := r.WatcherNativeID; w != nil {
				waitGone(t, r.PID, *w, 30*time.Second)
			}
			testinterp.WaitThreads(t, r.PID, len(r.Threads), 60*time.Second, quietSyscalls...)
			return strconv.Itoa(r.PID)
		}
		select {
		case <-done:
			t.Fatalf("%s as uid %d exited early: %s", script, cred.Uid, tail(out.Bytes(), 2000))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s as uid %d not ready after %v: %s", script, cred.Uid, testinterp.ReadyTimeout, tail(out.Bytes(), 2000))
		}
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}

// TestBrokenCacheHeals: a compiled-code cache cut short (a crash while writing it,
// say) makes go-graphviz's init panic; pyhang then draws without the cache and drops
// it, and the next picture builds it afresh.
func TestBrokenCacheHeals(t *testing.T) {
	in, ok := firstPyenv(testinterp.All(t))
	if !ok {
		t.Skip("SKIP: no pyenv interpreter (listed above)")
	}
	p := startProgram(t, in, "deadlock.py")
	xdg := filepath.Join(testinterp.PrivateDir(t), "xdg")
	env := withEnv(map[string]string{"XDG_CACHE_HOME": xdg})
	svg := filepath.Join(t.TempDir(), "g.svg")
	graph := func() []string {
		t.Helper()
		r := invocation{bin: pyhangBin, args: []string{"graph", strconv.Itoa(p.PID), "-o", svg}, env: env}.run(t)
		if r.code != 0 {
			t.Fatalf("%v", r)
		}
		checkSVG(t, svg, "posting", "audit")
		files, _ := filepath.Glob(filepath.Join(xdg, "pyhang", "go-graphviz", "wazero-*", "*"))
		return files
	}
	files := graph()
	if len(files) == 0 {
		t.Fatal("no cache was written")
	}
	for _, f := range files {
		if err := os.Truncate(f, 10); err != nil {
			t.Fatal(err)
		}
	}
	// The renderer alone panics on that cache: what pyhang must survive.
	cmd := exec.Command(renderBin, "svg")
	cmd.Env = []string{"TMPDIR=" + filepath.Join(xdg, "pyhang")}
	cmd.Stdin = strings.NewReader("digraph { a -> b }")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "panic") {
		t.Errorf("the renderer did not fail on a cut cache (%v): the test no longer tests anything\n%s", err, tail(out, 500))
	}
	graph()
	if _, err := os.Stat(filepath.Join(xdg, "pyhang", "go-graphviz")); err == nil {
		t.Error("the broken cache is still there")
	}
	if files := graph(); len(files) == 0 {
		t.Error("the next picture built no cache")
	}
}
