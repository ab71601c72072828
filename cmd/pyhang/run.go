package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/spf13/cobra"
)

// Defaults of pyhang run and pyhang watch.
const (
	defaultHangAfter = time.Minute
	defaultInterval  = time.Second
)

// monitorFlags are the flags pyhang run and pyhang watch share.
type monitorFlags struct {
	hangAfter time.Duration
	interval  time.Duration
	coreDir   string
	format    string
}

func (f *monitorFlags) register(c *cobra.Command) {
	c.Flags().DurationVar(&f.hangAfter, "hang-after", defaultHangAfter, "hung after this long without progress (no CPU time, no stack changing, no wait with a timeout)")
	c.Flags().DurationVar(&f.interval, "interval", defaultInterval, "time between two looks at the processes")
	c.Flags().StringVar(&f.coreDir, "core-dir", "", "write a core of a crashed or hung Python process to DIR/core.PID")
	c.Flags().StringVar(&f.format, "format", "text", "format of the reports: text, or json (one pyhang/1 document per line)")
}

func (f *monitorFlags) check() error {
	switch {
	case f.hangAfter <= 0:
		return usageError{fmt.Errorf("--hang-after must be positive, not %v", f.hangAfter)}
	case f.interval <= 0 || f.interval > f.hangAfter:
		return usageError{fmt.Errorf("--interval must be positive and at most --hang-after (%v), not %v", f.hangAfter, f.interval)}
	}
	if err := checkFormat(f.format); err != nil {
		return err
	}
	if f.coreDir != "" {
		if err := os.MkdirAll(f.coreDir, 0o700); err != nil {
			return fmt.Errorf("--core-dir: %w", err)
		}
	}
	return nil
}

func (f *monitorFlags) options(what string) monitorOptions {
	return monitorOptions{hangAfter: f.hangAfter, interval: f.interval, coreDir: f.coreDir, format: f.format, what: what}
}

type runFlags struct {
	monitorFlags
	keep bool
}

func newRunCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run [--hang-after D] [--core-dir DIR] [--keep] -- CMD [ARG...]",
		Short: "Run CMD; diagnose it when it crashes or hangs",
		Long: `run runs CMD, with its standard input, output and error and its environment
untouched, and follows it and every process it starts, from the start. It looks
at each one every --interval without stopping it.

On a fatal signal (one whose default action dumps core, such as SIGSEGV or
SIGABRT, that the program does not handle) it diagnoses the process at the
signal's delivery, before it dies: the signal, the fault address, the thread
that took it and its native and Python frames. It writes a core to --core-dir
if given, then lets the signal take its course.

On a hang it prints the diagnosis, writes a core if asked, ends the processes
(SIGTERM, then SIGKILL 5 s later) unless --keep is given, and exits 3. Hung
means: the diagnosis of two looks in a row proves a problem (a deadlock, an
orphaned lock, every thread blocked) and one consistent snapshot confirms it,
which counts at once; or for --hang-after no process made progress: no thread
used CPU time or changed its stack, and none waits with a timeout (a sleep, a
wait with a timeout), for a person at its terminal, or in a stop (Ctrl-Z).

Otherwise run exits with CMD's own status, 128+N when a signal N killed it
(as a shell does), 127 when CMD is not found. Reports go to standard error.
SIGTERM and SIGHUP sent to pyhang are passed on to CMD; Ctrl-C at a terminal
reaches CMD directly (SIGINT from elsewhere is passed on too).

A program run by pyhang run is traced by it, so a debugger cannot attach to it.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("run needs a command: pyhang run [FLAGS] -- CMD [ARG...]")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			path, err := exec.LookPath(args[0])
			if err != nil {
				// As a shell says it: a path that exists but cannot be
				// run is 126, a command not found 127.
				if st, serr := os.Stat(args[0]); serr == nil && strings.Contains(args[0], "/") {
					why := "Permission denied"
					if st.IsDir() {
						why = "Is a directory"
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "pyhang: %s: %s\n", esc(args[0]), why)
					return exitStatusError{126}
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "pyhang: %s: command not found\n", esc(args[0]))
				return exitStatusError{127}
			}
			sigs := make(chan os.Signal, 8)
			signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
			defer signal.Stop(sigs)
			// A reader of the reports that goes away (`2>&1 | head`) must
			// not end pyhang before it has ended the hung program: the
			// write to the closed pipe fails instead. Caught, not ignored:
			// an ignored SIGPIPE would stay ignored in CMD across exec.
			brokenPipe := make(chan os.Signal, 1)
			signal.Notify(brokenPipe, unix.SIGPIPE)
			defer signal.Stop(brokenPipe)
			attr := &os.ProcAttr{Env: os.Environ(), Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}}
			fl, err := live.StartFollowed(append([]string{path}, args[1:]...), attr, live.FollowOptions{Children: true})
			if err != nil {
				if errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.ENOEXEC) {
					var errno unix.Errno
					if errors.As(err, &errno) {
						err = errno // "exec format error", not Go's fork/exec wrapping
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "pyhang: %s: cannot execute: %v\n", esc(args[0]), err)
					return exitStatusError{126}
				}
				return fmt.Errorf("starting %s: %w", args[0], err)
			}
			defer fl.Close()
			go forwardSignals(sigs, fl.PID())
			o := f.options("pyhang run")
			o.keep, o.out = f.keep, cmd.ErrOrStderr()
			if code := newMonitor(fl, o).run(); code != 0 {
				return exitStatusError{code}
			}
			return nil
		},
	}
	c.Flags().SetInterspersed(false)
	f.register(c)
	c.Flags().BoolVar(&f.keep, "keep", false, "leave a hung process running instead of ending it")
	return c
}

// forwardSignals passes the signals pyhang gets on to its child: SIGTERM and
// SIGHUP always; SIGINT and SIGQUIT only when they did not come from the
// terminal, which sends them to the child too.
func forwardSignals(sigs <-chan os.Signal, pid int) {
	for sig := range sigs {
		s, ok := sig.(unix.Signal)
		if !ok {
			continue
		}
		if (s == unix.SIGINT || s == unix.SIGQUIT) && foregroundAtTerminal() {
			continue
		}
		_ = unix.Kill(pid, s)
	}
}

// foregroundAtTerminal says whether pyhang's process group is the
// foreground group of the terminal on its standard input.
func foregroundAtTerminal() bool {
	pgrp, err := unix.IoctlGetInt(int(os.Stdin.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}
