package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/capture"
	"github.com/pyhang/pyhang/snapshot/coredump"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/spf13/cobra"
)

// fullMaxPause bounds the pause of `core --full`, which copies every mapping
// while the target is stopped.
const fullMaxPause = 2 * time.Minute

type coreFlags struct {
	out    string
	full   bool
	format string
}

func newCoreCmd() *cobra.Command {
	var f coreFlags
	c := &cobra.Command{
		Use:   "core PID -o FILE",
		Short: "Write a small ELF core of a live process, in one short pause",
		Long: `core writes an ELF core file of a running process during the same short pause
as a snapshot: the memory the snapshot reads, every thread's stack and registers,
and the notes gdb and pyhang need (threads, process, auxiliary vector, mapped
files). Read-only file contents stay out: the core names the files, and
pyhang diagnose FILE and gdb PYTHON FILE read them from disk. --full keeps
every readable mapping instead (a larger core and a longer pause). Memory that
cannot be read (a guard page inside a thread stack) is left out, never written
as zeros. The file is created with mode 0600: a core holds the process's secrets.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.out == "" {
				return usageError{fmt.Errorf("core needs -o FILE")}
			}
			if err := checkFormat(f.format); err != nil {
				return err
			}
			pid, err := strconv.Atoi(args[0])
			if err != nil || pid <= 0 {
				return usageError{fmt.Errorf("core reads a live process: %q is not a pid", args[0])}
			}
			s, res, err := writeCore(pid, f.out, f.full, capture.Options{})
			if err != nil {
				return err
			}
			return presentCore(cmd.OutOrStdout(), f.format, s, f.out, res)
		},
	}
	c.Flags().StringVarP(&f.out, "output", "o", "", "the core file to write")
	c.Flags().BoolVar(&f.full, "full", false, "keep every readable mapping, not only what a diagnosis needs")
	c.Flags().StringVar(&f.format, "format", "text", "output format: text or json")
	return c
}

// writeCore snapshots pid and writes its core to path in the same pause.
// opts say how to stop it (a process pyhang traces itself is stopped by its
// tracer). The file appears only once it is whole.
func writeCore(pid int, path string, full bool, opts capture.Options) (*snapshot.Snapshot, coredump.Result, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// Checked before the target is paused, and said in the user's words.
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, coredump.Result{}, fmt.Errorf("%s is a directory: give -o the path of the core file to write", path)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, coredump.Result{}, fmt.Errorf("cannot write %s: the directory %s does not exist", path, filepath.Clean(dir))
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.partial")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary name means nothing to the user
		}
		return nil, coredump.Result{}, fmt.Errorf("creating the core file %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	d := coredump.New(tmp, full)
	opts.Keep = d
	// The core keeps the pages the snapshot read; reading the locals as
	// --locals does puts theirs among them, so that `dump CORE --locals`
	// shows whole values (a str's second page, a set's items), not only
	// what the snapshot needed to name its objects.
	opts.ReadLocals = !full
	if full && opts.Stop == nil {
		opts.Stop = func(pid int) (capture.Stopped, error) {
			return live.Attach(pid, live.Options{MaxPause: fullMaxPause})
		}
	}
	s, err := capture.Take(strconv.Itoa(pid), opts)
	if err != nil {
		return nil, coredump.Result{}, err
	}
	res, err := d.Write()
	if err != nil {
		return nil, res, fmt.Errorf("writing the core of pid %d: %w", pid, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, res, fmt.Errorf("writing the core of pid %d: %w", pid, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, res, fmt.Errorf("writing the core of pid %d: %w", pid, err)
	}
	done = true
	return s, res, nil
}

// coreReport is the JSON of `pyhang core`: the snapshot taken in the pause,
// and what the core file holds.
type coreReport struct {
	*report
	CoreFile coreFileInfo `json:"core_file"`
}

type coreFileInfo struct {
	Path string `json:"path"`
	coredump.Result
}

func presentCore(w io.Writer, format string, s *snapshot.Snapshot, path string, res coredump.Result) error {
	an := analyse(s)
	if format == "json" {
		return writeJSON(w, coreReport{report: an.report(true), CoreFile: coreFileInfo{Path: path, Result: res}})
	}
	writeCoreSummary(w, an, path, res)
	return nil
}

// writeCoreSummary says what was written, how long the target stood still,
// what the snapshot in the core shows, and how to read it.
func writeCoreSummary(w io.Writer, an *analysis, path string, res coredump.Result) {
	s := an.snap
	kept := "the memory the snapshot read and each thread's stack"
	if res.Full {
		kept = "every readable mapping"
	}
	fmt.Fprintf(w, "Wrote %s: %s (%s), %d threads, %d segments.\n", esc(path), sizeWords(res.Bytes), kept, res.Threads, res.Segments)
	if s.Target.PausedMS != nil {
		fmt.Fprintf(w, "Process %d (Python %s) was paused %.1f ms.\n", s.Target.PID, esc(s.Target.Python), *s.Target.PausedMS)
	}
	for _, u := range res.Unreadable {
		fmt.Fprintf(w, "left out, unreadable: %s\n", u)
	}
	for _, warn := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", esc(warn))
	}
	n := 0
	for i := range an.findings {
		if an.findings[i].Problem() {
			n++
		}
	}
	switch n {
	case 0:
		fmt.Fprintf(w, "The snapshot shows no problem.\n")
	case 1:
		fmt.Fprintf(w, "The snapshot shows 1 problem.\n")
	default:
		fmt.Fprintf(w, "The snapshot shows %d problems.\n", n)
	}
	fmt.Fprintf(w, "Read it with: pyhang diagnose %s   (or: gdb %s %s)\n", esc(path), esc(s.Target.Executable), esc(path))
}

// sizeWords is a byte count for a person.
func sizeWords(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
