// Command pyhang-render draws a wait-for graph: DOT on standard input, an
// SVG or PNG picture on standard output.
//
//	pyhang-render svg|png < graph.dot > picture
//
// pyhang runs it for `graph -o FILE.svg|.png` and `--graph FILE.svg|.png`,
// after the target has been let go; it is a program of its own so that the
// process that attaches to a target never links go-graphviz and its WASM
// runtime (see waitgraph/render). go-graphviz keeps compiled code under
// TMPDIR: the renderer uses TMPDIR only when it is the user's own, private
// directory (pyhang passes ~/.cache/pyhang) and otherwise runs without a
// cache (see internal/rendercache/guard).
//
// Exit status: 0 drawn; 1 could not draw (one line on stderr says why);
// 2 usage error.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pyhang/pyhang/waitgraph/render"
)

// maxDOT bounds the graph read from stdin. waitgraph writes a few hundred
// bytes per thread and lock, so this is far more than any real process
// needs.
const maxDOT = 64 << 20

const usage = "usage: pyhang-render svg|png < graph.dot > picture"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(stdout, usage)
		return 0
	}
	if len(args) != 1 || (args[0] != "svg" && args[0] != "png") {
		fmt.Fprintf(stderr, "pyhang-render: %s\n", usage)
		return 2
	}
	if err := draw(args[0], stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "pyhang-render: %s\n", strings.Join(strings.Fields(err.Error()), " "))
		return 1
	}
	return 0
}

func draw(format string, stdin io.Reader, stdout io.Writer) error {
	src, err := io.ReadAll(io.LimitReader(stdin, maxDOT+1))
	if err != nil {
		return fmt.Errorf("reading the DOT graph from stdin: %w", err)
	}
	if len(src) > maxDOT {
		return fmt.Errorf("the DOT graph on stdin is larger than %d MiB", maxDOT>>20)
	}
	if len(src) == 0 {
		return errors.New("no DOT graph on stdin")
	}
	out, err := render.Render(src, format)
	if err != nil {
		return err
	}
	if _, err := stdout.Write(out); err != nil {
		return fmt.Errorf("writing the %s picture: %w", format, err)
	}
	return nil
}
