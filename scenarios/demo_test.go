package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// TestDemo runs `pyhang demo` as a newcomer would after `make demo`: with the
// renderer beside pyhang it draws pyhang-demo.svg; with pyhang alone (as `go run`
// builds it) it writes the graph as pyhang-demo.dot and says why.
func TestDemo(t *testing.T) {
	in, ok := firstPyenv(testinterp.All(t))
	if !ok {
		t.Skip("SKIP: no pyenv interpreter (listed above)")
	}
	python := in.Cmd[0]
	if len(in.Cmd) > 1 {
		t.Skipf("SKIP: %s needs a wrapper command (%v), demo takes one executable", in.Name, in.Cmd)
	}
	env := withEnv(map[string]string{"XDG_CACHE_HOME": filepath.Join(testinterp.PrivateDir(t), "xdg")})

	work := t.TempDir()
	r := invocation{bin: pyhangBin, args: []string{"demo", "--python", python}, env: env, dir: work}.run(t)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	if !strings.Contains(string(r.stdout), "DEADLOCK") || !strings.Contains(string(r.stdout), "Wait-for graph written to pyhang-demo.svg") {
		t.Errorf("demo says:\n%s", tail(r.stdout, 3000))
	}
	checkSVG(t, filepath.Join(work, "pyhang-demo.svg"), "posting", "audit", "ledger", "audit_log")

	alone := t.TempDir()
	copyFile(t, pyhangBin, filepath.Join(alone, "pyhang"), 0o755)
	work = t.TempDir()
	r = invocation{bin: filepath.Join(alone, "pyhang"), args: []string{"demo", "--python", python}, env: env, dir: work}.run(t)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	if !strings.Contains(string(r.stdout), "pyhang-render is not installed beside this pyhang, so the graph is written as DOT") ||
		!strings.Contains(string(r.stdout), "Wait-for graph written to pyhang-demo.dot") {
		t.Errorf("demo without the renderer says:\n%s", tail(r.stdout, 3000))
	}
	if b, err := os.ReadFile(filepath.Join(work, "pyhang-demo.dot")); err != nil || !strings.Contains(string(b), "digraph waitgraph") {
		t.Errorf("pyhang-demo.dot: %v\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(work, "pyhang-demo.svg")); err == nil {
		t.Error("demo without the renderer wrote an SVG")
	}
	// Asked for an SVG by name, it does not quietly write something else.
	r = invocation{bin: filepath.Join(alone, "pyhang"), args: []string{"demo", "--python", python, "--graph", "x.svg"}, env: env, dir: work}.run(t)
	if r.code != 1 || !strings.Contains(stderrLine(t, r), "need pyhang-render installed beside pyhang") {
		t.Errorf("demo --graph x.svg without the renderer: %v", r)
	}
}

// TestRendererRefused: pyhang does not run a renderer that others could have
// replaced, and says so in one line before reading any target.
func TestRendererRefused(t *testing.T) {
	for _, tc := range []struct {
		name              string
		dirMode, fileMode os.FileMode
		say               string
	}{
		{"group-writable directory", 0o775, 0o755, "its directory"},
		{"world-writable renderer", 0o755, 0o757, "it is writable by group or others"},
	} {
		dir := filepath.Join(t.TempDir(), "bin")
		os.Mkdir(dir, 0o755)
		copyFile(t, pyhangBin, filepath.Join(dir, "pyhang"), 0o755)
		copyFile(t, renderBin, filepath.Join(dir, "pyhang-render"), tc.fileMode)
		os.Chmod(dir, tc.dirMode)
		r := invocation{bin: filepath.Join(dir, "pyhang"), args: []string{"graph", "/nonexistent/core", "-o", filepath.Join(t.TempDir(), "g.svg")}, env: os.Environ()}.run(t)
		line := stderrLine(t, r)
		if r.code != 1 || !strings.Contains(line, "refusing to run "+filepath.Join(dir, "pyhang-render")) || !strings.Contains(line, tc.say) {
			t.Errorf("%s: %v", tc.name, r)
		}
	}
}

// TestDemoCrash: `pyhang demo ctypes-crash` lets the talk's ctypes example
// crash and diagnoses the core the kernel writes: the crash finding leads.
func TestDemoCrash(t *testing.T) {
	in, ok := firstPyenv(testinterp.All(t))
	if !ok {
		t.Skip("SKIP: no pyenv interpreter (listed above)")
	}
	if len(in.Cmd) > 1 {
		t.Skipf("SKIP: %s needs a wrapper command (%v), demo takes one executable", in.Name, in.Cmd)
	}
	env := withEnv(map[string]string{"XDG_CACHE_HOME": filepath.Join(testinterp.PrivateDir(t), "xdg")})
	r := invocation{bin: pyhangBin, args: []string{"demo", "ctypes-crash", "--python", in.Cmd[0], "--graph", ""}, env: env, dir: t.TempDir()}.run(t)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	out := string(r.stdout)
	first := strings.Index(out, "1. CRASH [error]: crash: SIGSEGV, a NULL pointer dereference")
	if first < 0 || !strings.Contains(out[first:], "in RSA_size (libcrypto.so") || !strings.Contains(out[first:], "through ctypes from talk_ctypes_crash.py:") {
		t.Errorf("demo ctypes-crash says:\n%s", tail(r.stdout, 4000))
	}
}
