package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes of the contract.
const (
	exitOK       = 0
	exitFailure  = 1 // could not analyse
	exitUsage    = 2
	exitProblems = 3 // analysed, problems found
	// exitIncomplete: analysed, no problem proven, but memory the analysis
	// needed was missing (a truncated core, a lost stack): not healthy, unknown.
	exitIncomplete = 4
)

// problemsError makes the command exit with exitProblems without a message.
type problemsError struct{}

func (problemsError) Error() string { return "problems found" }

// incompleteError makes the command exit with exitIncomplete without a message.
type incompleteError struct{}

func (incompleteError) Error() string { return "snapshot incomplete" }

// exitStatusError makes the command exit with a status of its own (pyhang
// run passes on its program's), without a message.
type exitStatusError struct{ code int }

func (e exitStatusError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError marks bad flags or arguments.
type usageError struct{ error }

// checkFormat accepts the output formats every command writes.
func checkFormat(format string) error {
	if format != "text" && format != "json" {
		return usageError{fmt.Errorf("--format must be text or json, not %q", format)}
	}
	return nil
}

// commands makes pyhang's commands, by name.
var commands = []struct {
	name string
	make func() *cobra.Command
}{
	{"dump", newDumpCmd}, {"diagnose", newDiagnoseCmd}, {"graph", newGraphCmd}, {"demo", newDemoCmd},
	{"core", newCoreCmd}, {"run", newRunCmd}, {"watch", newWatchCmd},
}

// New builds the command tree for args: when args begin with a command's
// name, only that command, else all of them (help, completion and the
// message for an unknown command list them). Building all seven took half a
// millisecond of a dump's start, against a twentieth for one (21 runs
// each, timed inside the process): most of it code and memory used for the
// first time.
func New(args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "pyhang",
		Short: "Tell why a Python process is hung, deadlocked or crashed",
		Long: `pyhang reads a Python process from the outside — a live pid or a core file —
without debug symbols, gdb or code in the target, and tells which threads are
stuck, on what, held by whom, and why it will never get better.

TARGET is a pid or a path to an ELF core file (kernel core, gcore, systemd-coredump).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	for _, c := range commands {
		if len(args) > 0 && args[0] == c.name {
			root.AddCommand(c.make())
			return root
		}
	}
	for _, c := range commands {
		root.AddCommand(c.make())
	}
	return root
}

// Execute runs pyhang with args and returns the exit code.
func Execute(args []string, stdout, stderr io.Writer) int {
	root := New(args)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	var ue usageError
	var es exitStatusError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &es):
		return es.code
	case errors.As(err, &problemsError{}):
		return exitProblems
	case errors.As(err, &incompleteError{}):
		return exitIncomplete
	case errors.As(err, &ue) || isCobraUsage(err):
		fmt.Fprintf(stderr, "pyhang: %s (see pyhang --help)\n", usageLine(err))
		return exitUsage
	default:
		fmt.Fprintf(stderr, "pyhang: %s\n", oneLine(err))
		return exitFailure
	}
}

func isCobraUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "accepts ") ||
		strings.HasPrefix(s, "requires ") || strings.HasPrefix(s, "unknown flag") || strings.HasPrefix(s, "invalid argument")
}

// usageLine is a usage error on one line: cobra puts its suggestions for a
// mistyped command on lines of their own.
func usageLine(err error) string {
	msg, suggested, ok := strings.Cut(err.Error(), "\n\nDid you mean this?\n")
	if !ok {
		return oneLine(err)
	}
	return oneLine(errors.New(msg)) + "; did you mean " + strings.Join(strings.Fields(suggested), ", ") + "?"
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}

// exactArgs wraps cobra.ExactArgs so a wrong count is a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
