package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/pyhang/pyhang/snapshot/capture"
	"github.com/spf13/cobra"
)

// targetFlags are shared by every command that reads a target.
type targetFlags struct {
	nonBlocking  bool
	exe          string
	sysroot      string
	format       string
	native       bool
	subprocesses bool
}

// register adds the target flags and --format.
func (f *targetFlags) register(c *cobra.Command) {
	f.registerTarget(c)
	c.Flags().StringVar(&f.format, "format", "text", "output format: text or json")
}

// registerTarget adds the flags that say how to read the target.
func (f *targetFlags) registerTarget(c *cobra.Command) {
	c.Flags().BoolVar(&f.nonBlocking, "nonblocking", false, "never stop a live target (the snapshot may be inconsistent)")
	c.Flags().StringVar(&f.exe, "exe", "", "core: local copy of the executable that wrote the core")
	c.Flags().StringVar(&f.sysroot, "sysroot", "", "core: folder holding copies of the files the process mapped")
	c.Flags().BoolVar(&f.subprocesses, "subprocesses", false, "also read the target's child processes (and theirs) that run Python; live targets only")
}

// registerNative adds --native.
func (f *targetFlags) registerNative(c *cobra.Command) {
	c.Flags().BoolVar(&f.native, "native", false, "also show every thread's native (C) stack, Python frames beside the interpreter frames that run them")
}

func (f *targetFlags) options() capture.Options {
	return capture.Options{NonBlocking: f.nonBlocking, Exe: f.exe, Sysroot: f.sysroot, Native: f.native}
}

func (f *targetFlags) check() error {
	if f.format != "text" && f.format != "json" {
		return usageError{fmt.Errorf("--format must be text or json, not %q", f.format)}
	}
	return nil
}

type dumpFlags struct {
	targetFlags
	locals localsFlags
}

func newDumpCmd() *cobra.Command {
	var f dumpFlags
	c := &cobra.Command{
		Use:   "dump TARGET",
		Short: "Every thread's Python stack (py-bt for every thread)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if err := f.check(); err != nil {
				return err
			}
			opts := f.options()
			if opts.Locals, opts.LocalsLimits, err = f.locals.limits(cmd); err != nil {
				return err
			}
			fam, err := takeFamily(args[0], opts, f.subprocesses)
			if err != nil {
				return err
			}
			if f.format == "json" {
				// The contract's threads carry what each waits on and holds.
				return writeJSON(cmd.OutOrStdout(), fam.report(false))
			}
			// Buffered: a --native dump of a big process is tens of thousands of lines.
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			writeDump(w, fam.root.snap)
			fam.writeSubprocesses(w, func(w io.Writer, an *analysis) { writeDump(w, an.snap) })
			return w.Flush()
		},
	}
	f.register(c)
	f.registerNative(c)
	f.locals.register(c)
	return c
}

// writeJSON writes v as one line: the JSON is for tools (pipe it to jq for a
// person), and indenting a 48k-frame report costs six times the encoding.
func writeJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
