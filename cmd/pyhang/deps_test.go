package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoGraphvizInPyhang: the process that attaches to targets must not link
// go-graphviz, whose package init compiles WebAssembly with wazero and keeps the
// machine code under $TMPDIR on every start. Only pyhang-render links them (checked
// too, so that this test can see them at all).
func TestNoGraphvizInPyhang(t *testing.T) {
	deps := func(pkg string) string {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		return string(out)
	}
	banned := []string{"github.com/goccy/go-graphviz", "github.com/tetratelabs/wazero"}
	pyhang, render := deps("github.com/pyhang/pyhang/cmd/pyhang"), deps("github.com/pyhang/pyhang/cmd/pyhang-render")
	for _, b := range banned {
		if strings.Contains(pyhang, b) {
			t.Errorf("cmd/pyhang depends on %s:\n%s", b, grep(pyhang, b))
		}
		if !strings.Contains(render, b) {
			t.Errorf("cmd/pyhang-render does not list %s: is this check looking at the right thing?", b)
		}
	}
}

func grep(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return strings.Join(out, "\n")
}
