package main

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMissingRenderer: this test binary has no pyhang-render beside it, as `go run`
// has not; SVG and PNG fail before any target is read, with one line saying how to
// get the renderer, and .dot needs none.
func TestMissingRenderer(t *testing.T) {
	_, err := findRenderer()
	var missing missingRendererError
	if !errors.As(err, &missing) {
		t.Fatalf("findRenderer() = %v, want it missing", err)
	}
	for _, args := range [][]string{
		{"graph", "/nonexistent/core", "-o", "g.svg"},
		{"diagnose", "/nonexistent/core", "--graph", "g.PNG"},
		{"demo", "--graph", "g.svg"},
	} {
		code, stdout, stderr := run(args...)
		if code != exitFailure || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("pyhang %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, stdout, stderr)
		}
		for _, want := range []string{"need pyhang-render installed beside pyhang", "make build", "go install ./cmd/...", ".dot graph needs nothing"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("pyhang %s: stderr %q does not say %q", strings.Join(args, " "), stderr, want)
			}
		}
	}
	// A .dot graph goes on to read the target: the failure is about the target.
	if _, _, stderr := run("graph", "/nonexistent/core", "-o", filepath.Join(t.TempDir(), "g.dot")); strings.Contains(stderr, "pyhang-render") || !strings.Contains(stderr, "/nonexistent/core") {
		t.Errorf(".dot: %s", stderr)
	}
}

// TestCheckRenderer: pyhang runs only a renderer that it and its directory belong to
// root or the user running pyhang and that no one else can write.
func TestCheckRenderer(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, dirMode, fileMode os.FileMode) string {
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, dirMode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, dirMode)
		p := filepath.Join(dir, rendererName)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), fileMode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, fileMode)
		return p
	}
	if err := checkRenderer(mk("good", 0o755, 0o755)); err != nil {
		t.Errorf("0755 file in a 0755 directory: %v", err)
	}
	check := func(name, path, say string) {
		t.Helper()
		if err := checkRenderer(path); err == nil || !strings.Contains(err.Error(), say) {
			t.Errorf("%s: %v, want an error saying %q", name, err, say)
		}
	}
	check("group-writable file", mk("gwfile", 0o755, 0o775), "it is writable by group or others (mode 775)")
	check("world-writable directory", mk("wwdir", 0o777, 0o755), "its directory "+filepath.Join(base, "wwdir")+" is writable by group or others")
	link := filepath.Join(base, "linkdir", rendererName)
	os.Mkdir(filepath.Dir(link), 0o755)
	os.Symlink(mk("target", 0o755, 0o755), link)
	check("symbolic link", link, "symbolic link")
	dirAsFile := filepath.Join(base, "dirasfile", rendererName)
	os.MkdirAll(dirAsFile, 0o755)
	check("a directory", dirAsFile, "not a regular file")

	if os.Geteuid() != 0 {
		t.Log("SKIP: files of another user need root to make")
		return
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Logf("SKIP: no user nobody: %v", err)
		return
	}
	uid, _ := strconv.Atoi(u.Uid)
	p := mk("theirs", 0o755, 0o755)
	os.Chown(p, uid, -1)
	check("file of another user", p, "it is owned by uid "+u.Uid+", neither root nor you (uid 0)")
	p = mk("theirdir", 0o755, 0o755)
	os.Chown(filepath.Dir(p), uid, -1)
	check("directory of another user", p, "its directory "+filepath.Dir(p)+" is owned by uid "+u.Uid)
}

// TestRunRenderer runs stand-ins for the renderer: it sees only TMPDIR, its one-line
// complaint becomes the error, and a crash is reported as one.
func TestRunRenderer(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("PYHANG_TEST_SECRET", "leaked")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "xdg")) // under a temporary directory: no cache
	out, err := runRenderer(script("env", "cat >/dev/null; /usr/bin/env"), "svg", []byte("digraph {}"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for line := range strings.Lines(string(out)) {
		name, value, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch name {
		case "PWD", "SHLVL", "_": // the shell's own
		case "TMPDIR":
			if value != "/dev/null" {
				t.Errorf("TMPDIR=%q, want /dev/null (no cache under a temporary directory)", value)
			}
		default:
			names = append(names, name)
		}
	}
	if len(names) > 0 || !strings.Contains(string(out), "TMPDIR=") {
		t.Errorf("the renderer should get TMPDIR alone, got:\n%s", out)
	}

	out, err = runRenderer(script("fails", "echo '<svg>half'; exit 1"), "svg", nil)
	if err == nil || len(out) != 0 || err.Error() != "pyhang-render failed with exit status 1 and said nothing" {
		t.Errorf("a failure with output but no complaint: %v, %d bytes", err, len(out))
	}
	_, err = runRenderer(script("complains", "echo 'pyhang-render: graphviz could not parse the graph' >&2; echo second line >&2; exit 1"), "svg", nil)
	if err == nil || err.Error() != "pyhang-render: graphviz could not parse the graph" {
		t.Errorf("complaint: %v", err)
	}
	_, err = runRenderer(script("crashes", "kill -SEGV $$"), "svg", nil)
	if err == nil || !strings.Contains(err.Error(), "killed by segmentation fault") {
		t.Errorf("crash: %v", err)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Errorf("the error carries the raw exit: %v", err)
	}
}
