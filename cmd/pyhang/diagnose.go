package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/motion"
	"github.com/pyhang/pyhang/waitgraph"
	"github.com/spf13/cobra"
)

type diagnoseFlags struct {
	targetFlags
	graph    string
	samples  int
	interval time.Duration
}

func newDiagnoseCmd() *cobra.Command {
	var f diagnoseFlags
	c := &cobra.Command{
		Use:   "diagnose TARGET",
		Short: "Find deadlocks, orphaned locks and threads that can never run again",
		Long: `diagnose reads every thread, works out the lock or primitive each blocked thread
waits on and the thread holding it, and reports what can never get better.
Exit status 3 means problems were found, 0 none, and 4 that none could be proven
but the snapshot is incomplete (memory the analysis needed could not be read).

With --samples N --interval D it first looks at a live process N times, D apart,
without stopping it, and says of each thread whether it is stuck (the same stack
and no CPU time at every look: "blocked for at least N s"), spinning (the same
stack while on a CPU) or moving. The findings stay those of one consistent
snapshot taken after the looks; the looks add what only time shows: a thread
starved of a lock that other threads keep passing among themselves.

When a thread holds the GIL and runs while others wait for it, diagnose reads
the GIL of a live process for up to a second more, without stopping it: a GIL
that never changes hands meanwhile is held by native code that keeps it.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			graph, err := prepareGraph(f.graph)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("samples") && cmd.Flags().Changed("interval") {
				return usageError{errors.New("--interval is the time between the looks of --samples N: give --samples too")}
			}
			looks, err := f.takeLooks(args[0], cmd.Flags().Changed("samples"))
			if err != nil {
				return err
			}
			an := analyse
			opts := f.options()
			opts.WatchGIL = true
			if f.format == "json" && !f.subprocesses {
				spare := &spareMemory{}
				opts.Spare = spare.keep
				an = withEncodingAhead(an, spare) // see withEncodingAhead
			}
			fam, err := takeFamily(args[0], opts, f.subprocesses, an)
			if err != nil {
				return err
			}
			fam.root.withLooks(looks, f.interval)
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			if err := present(w, fam, f.format, graph); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return fam.status()
		},
	}
	f.register(c)
	f.registerNative(c)
	c.Flags().StringVar(&f.graph, "graph", "", "also write the wait-for graph to FILE (.svg, .png or .dot)")
	c.Flags().IntVar(&f.samples, "samples", 0, "first look N times at a live process without stopping it, to tell stuck threads from moving ones")
	c.Flags().DurationVar(&f.interval, "interval", time.Second, "time between two looks (with --samples)")
	return c
}

// takeLooks takes the looks --samples asks for, before the snapshot.
// asked says --samples was given: --samples 0 is a mistake, not "no looks".
func (f *diagnoseFlags) takeLooks(arg string, asked bool) ([]motion.Look, error) {
	if !asked {
		return nil, nil
	}
	pid, err := strconv.Atoi(arg)
	switch {
	case f.samples < 2 || f.samples > maxSamples:
		return nil, usageError{fmt.Errorf("--samples must be between 2 and %d, not %d", maxSamples, f.samples)}
	case f.interval <= 0 || f.interval > time.Hour:
		return nil, usageError{fmt.Errorf("--interval must be positive and at most an hour, not %v", f.interval)}
	case err != nil || pid <= 0:
		return nil, usageError{fmt.Errorf("--samples looks at a live process: %q is not a pid", arg)}
	}
	return takeLooks(pid, f.samples, f.interval)
}

// maxSamples bounds --samples.
const maxSamples = 10000

type graphFlags struct {
	targetFlags
	out string
}

func newGraphCmd() *cobra.Command {
	var f graphFlags
	c := &cobra.Command{
		Use:   "graph TARGET -o FILE.svg|.png|.dot",
		Short: "Render the wait-for graph: threads, the locks they wait on, who holds them, cycles in red",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.out == "" {
				return usageError{fmt.Errorf("graph needs -o FILE (.svg, .png or .dot)")}
			}
			if f.stop && f.nonBlocking {
				return errStopNonBlocking
			}
			graph, err := prepareGraph(f.out)
			if err != nil {
				return err
			}
			fam, err := takeFamily(args[0], f.options(), f.subprocesses, analyse)
			if err != nil {
				return err
			}
			g := fam.graph()
			if err := writeGraph(g, fam.deadlockCycles(g), graph); err != nil {
				return err
			}
			threads := 0
			for _, an := range fam.analyses() {
				threads += len(an.snap.Threads)
			}
			cycles := len(fam.deadlockCycles(g))
			if n := len(fam.analyses()); n > 1 {
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d threads in %d processes, %d cycles)\n", f.out, threads, n, cycles)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d threads, %d cycles)\n", f.out, threads, cycles)
			return nil
		},
	}
	f.registerTarget(c)
	c.Flags().StringVarP(&f.out, "output", "o", "", "file to write: .svg, .png or .dot")
	return c
}

// graphOutput is a graph file to write: its path and format (svg, png or
// dot).
type graphOutput struct {
	path, format string
}

// prepareGraph checks a graph file name and, for SVG and PNG, that the
// renderer is there, before the target is read. An empty path is no graph.
func prepareGraph(path string) (*graphOutput, error) {
	if path == "" {
		return nil, nil
	}
	g := &graphOutput{path: path, format: strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")}
	switch g.format {
	case "dot":
		return g, nil
	case "svg", "png":
		// Fail before the target is touched, not after.
		if _, err := findRenderer(); err != nil {
			return nil, err
		}
		return g, nil
	}
	return nil, usageError{fmt.Errorf("cannot tell the graph format of %q: name it .svg, .png or .dot", path)}
}

// present writes a diagnosis as text or JSON, and the graph when asked to.
func present(w io.Writer, fam *family, format string, graph *graphOutput) error {
	if graph != nil {
		g := fam.graph()
		if err := writeGraph(g, fam.deadlockCycles(g), graph); err != nil {
			return err
		}
	}
	if format == "json" {
		return writeJSON(w, fam.report(true))
	}
	// One write per line would be one system call per line.
	bw := bufio.NewWriterSize(w, 64<<10)
	// A deadlock across processes shows in no one process's report: it
	// comes first.
	fam.writeSharedDeadlocks(bw)
	writeDiagnosis(bw, fam.root)
	fam.writeSubprocesses(bw, writeDiagnosis)
	if graph != nil {
		fmt.Fprintf(bw, "\nWait-for graph written to %s\n", graph.path)
	}
	return bw.Flush()
}

// deadlockCycles are the cycles of g (the family's graph) that a picture
// draws red: every proven one, and each probable one (through locks taken
// by a bare acquire(), or a wait a locked-out thread would end) that a
// deadlock finding reports.
func (f *family) deadlockCycles(g *waitgraph.Graph) []waitgraph.Cycle {
	cycles := g.Cycles()
	reported := map[string]bool{}
	for _, an := range f.analyses() {
		for _, fd := range an.findings {
			if d, ok := fd.Details.(*heuristics.DeadlockDetails); ok && d.Probable {
				reported[setKey(fd.Objects)] = true
			}
		}
	}
	for _, c := range g.ProbableCycles() {
		if reported[setKey(c.Resources)] {
			cycles = append(cycles, c)
		}
	}
	return cycles
}

// setKey names a set of ids, whatever their order: a cycle's resources
// start where its finding's do not, maybe.
func setKey(ids []string) string {
	s := slices.Sorted(slices.Values(ids))
	return strings.Join(s, " ")
}

// writeGraph writes the graph file, cycles in red; a picture is drawn by
// the renderer, which runs only now that the target has been let go.
// Nothing is written when drawing fails.
func writeGraph(wg *waitgraph.Graph, cycles []waitgraph.Cycle, g *graphOutput) error {
	out, err := wg.DOT(cycles)
	if err != nil {
		return err
	}
	if g.format != "dot" {
		renderer, err := findRenderer()
		if err != nil {
			return err
		}
		if out, err = runRenderer(renderer, g.format, out); err != nil {
			return fmt.Errorf("drawing %s: %w", g.path, err)
		}
	}
	if err := os.WriteFile(g.path, out, 0o666); err != nil {
		return fmt.Errorf("writing the graph: %w", err)
	}
	return nil
}
