package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot/cpython"
)

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Execute(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestUsage: bad flags and arguments are usage errors (exit 2) with one line
// that says what is wrong.
func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		say  string
	}{
		{[]string{"dump"}, "accepts 1 arg"},
		{[]string{"dump", "1", "2"}, "accepts 1 arg"},
		{[]string{"dump", "1", "--format", "yaml"}, "--format must be text or json"},
		{[]string{"diagnose", "1", "--graph", "out.gif"}, "name it .svg, .png or .dot"},
		{[]string{"graph", "1"}, "graph needs -o FILE"},
		{[]string{"graph", "1", "-o", "g.jpg"}, "name it .svg, .png or .dot"},
		{[]string{"demo", "nosuch"}, `no example "nosuch"`},
		{[]string{"dump", "1", "--bogus"}, "unknown flag"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"dum", "1"}, "did you mean dump,"},
		{[]string{"core", "1"}, "core needs -o FILE"},
		{[]string{"core", "some.core", "-o", "x"}, "is not a pid"},
		{[]string{"diagnose", "1", "--samples", "1"}, "--samples must be between 2 and"},
		{[]string{"diagnose", "1", "--samples", "0"}, "--samples must be between 2 and"},
		{[]string{"diagnose", "1", "--interval", "2s"}, "give --samples too"},
		{[]string{"diagnose", "a.core", "--samples", "3"}, "looks at a live process"},
		{[]string{"diagnose", "1", "--samples", "3", "--interval", "-1s"}, "--interval must be positive"},
		{[]string{"run"}, "run needs a command"},
		{[]string{"run", "--hang-after", "0s", "--", "true"}, "--hang-after must be positive"},
		{[]string{"run", "--interval", "2m", "--", "true"}, "--interval must be positive and at most --hang-after"},
		{[]string{"run", "--format", "xml", "--", "true"}, "--format must be text or json"},
		{[]string{"watch"}, "accepts 1 arg"},
		{[]string{"watch", "core.1"}, "is not a pid"},
	} {
		code, _, stderr := run(tc.args...)
		if code != exitUsage {
			t.Errorf("pyhang %s: exit %d, want %d", strings.Join(tc.args, " "), code, exitUsage)
		}
		if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.say) {
			t.Errorf("pyhang %s: stderr %q, want one line saying %q", strings.Join(tc.args, " "), stderr, tc.say)
		}
	}
}

// TestFailure: a target that cannot be read is exit 1 with one line.
func TestFailure(t *testing.T) {
	for _, args := range [][]string{
		{"dump", "/nonexistent/core"},
		{"diagnose", "/nonexistent/core"},
		{"dump", "0"},
	} {
		code, stdout, stderr := run(args...)
		if code != exitFailure || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "pyhang: ") {
			t.Errorf("pyhang %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}

func TestHelpListsCommands(t *testing.T) {
	code, out, _ := run("--help")
	if code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	for _, c := range []string{"dump", "diagnose", "graph", "demo", "core", "run", "watch"} {
		if !strings.Contains(out, c) {
			t.Errorf("--help does not list %s", c)
		}
	}
}

func TestUnsupportedVersion(t *testing.T) {
	_, err := cpython.ForVersion(cpython.Version{Major: 3, Minor: 7, Micro: 16})
	if err == nil || err.Error() != "unsupported Python 3.7.16: pyhang reads CPython 3.8 to 3.14" {
		t.Errorf("3.7: %v", err)
	}
	if _, err := cpython.ForVersion(cpython.Version{Major: 3, Minor: 15}); err == nil {
		t.Error("3.15 accepted")
	}
}

// TestCommandTree: args that begin with a command's name build that command
// alone, under its own name; anything else builds them all, so that help and
// the message for an unknown command list every one.
func TestCommandTree(t *testing.T) {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
		var got []string
		for _, sub := range New([]string{c.name, "--help"}).Commands() {
			got = append(got, sub.Name())
		}
		if !slices.Equal(got, []string{c.name}) {
			t.Errorf("New(%q ...) built %q; want %q alone", c.name, got, c.name)
		}
	}
	slices.Sort(names)
	for _, args := range [][]string{nil, {"help"}, {"--help"}, {"dum"}} {
		var got []string
		for _, c := range New(args).Commands() {
			got = append(got, c.Name())
		}
		slices.Sort(got)
		if !slices.Equal(got, names) {
			t.Errorf("New(%q) built %q, want %q", args, got, names)
		}
	}
}
