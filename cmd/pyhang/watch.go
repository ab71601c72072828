package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/spf13/cobra"
)

type watchFlags struct {
	monitorFlags
	kill bool
}

func newWatchCmd() *cobra.Command {
	var f watchFlags
	c := &cobra.Command{
		Use:   "watch PID [--hang-after D] [--core-dir DIR] [--kill]",
		Short: "Watch a running process; diagnose it when it crashes or hangs",
		Long: `watch is pyhang run for a process that is already running. It traces the
process's threads (PTRACE_SEIZE, which stops nothing) so that a fatal signal
stops it before it dies, and looks at it every --interval without stopping it;
it stops it only for one consistent snapshot that confirms a problem, or at a
crash. The processes it starts from then on are followed too.

On a fatal signal it prints the crash report, writes a core to --core-dir if
given, and lets the signal take its course. On a hang (as pyhang run defines
it) it prints the diagnosis, writes a core if asked, and exits 3, leaving the
process running — or ending it (SIGTERM, then SIGKILL) with --kill. When the
process ends, watch exits with its status (128+N for a signal N). Ctrl-C or
SIGTERM ends the watch and lets the process go, untouched.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			pid, err := strconv.Atoi(args[0])
			if err != nil || pid <= 0 {
				return usageError{fmt.Errorf("watch follows a live process: %q is not a pid", args[0])}
			}
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
			defer signal.Stop(sigs)
			fl, err := live.Follow(pid, live.FollowOptions{Children: true})
			if err != nil {
				return err
			}
			defer fl.Close()
			o := f.options("pyhang watch")
			o.keep, o.out, o.interrupt, o.watchedPID = !f.kill, cmd.OutOrStdout(), sigs, pid
			if code := newMonitor(fl, o).run(); code != 0 {
				return exitStatusError{code}
			}
			return nil
		},
	}
	f.register(c)
	c.Flags().BoolVar(&f.kill, "kill", false, "end a hung process (SIGTERM, then SIGKILL) instead of leaving it running")
	return c
}
