package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/pyhang/pyhang/snapshot/capture"
	"github.com/pyhang/pyhang/testprogs"
	"github.com/spf13/cobra"
)

// demos are the bundled examples, by name, with what each shows.
var demos = map[string]string{
	"deadlock":             "two threads take two locks in opposite order",
	"self_deadlock":        "a thread re-enters a plain Lock it already holds",
	"orphaned_lock":        "a readers/writers lock left locked by a swallowed exception",
	"orphaned_rlock":       "an RLock still owned by a thread that died",
	"deadlock_rlock_join":  "a three-thread cycle through an RLock, a Lock and a join",
	"all_blocked":          "every thread waits on something only another blocked thread could release",
	"talk_job_queue":       "workers race between empty() and get() and block forever",
	"held_by_bare_acquire": "healthy: a slow thread holds a lock taken with a bare acquire()",
}

type demoFlags struct {
	python string
	graph  string
	format string
}

func newDemoCmd() *cobra.Command {
	var f demoFlags
	c := &cobra.Command{
		Use:   "demo [EXAMPLE]",
		Short: "Run a bundled program that hangs, and diagnose it",
		Long:  "demo runs one of the bundled hanging programs (default: deadlock) under a Python 3.8+ interpreter,\nwaits until it hangs, diagnoses it and writes the wait-for graph, then stops it.\n\nExamples:\n" + demoList(),
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "deadlock"
			if len(args) == 1 {
				name = strings.TrimSuffix(args[0], ".py")
			}
			if _, ok := demos[name]; !ok {
				return usageError{fmt.Errorf("no example %q; choose one of: %s", name, strings.Join(demoNames(), ", "))}
			}
			return runDemo(cmd, name, f)
		},
	}
	c.Flags().StringVar(&f.python, "python", "", "interpreter to run the example with (default: python3 on PATH)")
	c.Flags().StringVar(&f.graph, "graph", "pyhang-demo.svg", "where to write the wait-for graph (.svg, .png, .dot; empty for none)")
	c.Flags().StringVar(&f.format, "format", "text", "output format: text or json")
	return c
}

func demoNames() []string {
	var out []string
	for n := range demos {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func demoList() string {
	var b strings.Builder
	for _, n := range demoNames() {
		fmt.Fprintf(&b, "  %-22s %s\n", n, demos[n])
	}
	return b.String()
}

func runDemo(cmd *cobra.Command, name string, f demoFlags) error {
	if f.format != "text" && f.format != "json" {
		return usageError{fmt.Errorf("--format must be text or json, not %q", f.format)}
	}
	graph, err := prepareGraph(f.graph)
	if errors.As(err, &missingRendererError{}) && !cmd.Flags().Changed("graph") {
		// No renderer beside this pyhang (`go run` builds pyhang alone): the
		// default picture becomes its DOT source rather than no demo.
		if graph, err = prepareGraph(strings.TrimSuffix(f.graph, ".svg") + ".dot"); err != nil {
			return err
		}
		if f.format == "text" {
			fmt.Fprintf(cmd.OutOrStdout(), "(%s is not installed beside this pyhang, so the graph is written as DOT; `make demo` draws it as SVG.)\n", rendererName)
		}
	}
	if err != nil {
		return err
	}
	python := f.python
	if python == "" {
		p, err := exec.LookPath("python3")
		if err != nil {
			return errors.New("demo needs a Python 3.8+ interpreter: none called python3 on PATH (pass --python PATH)")
		}
		python = p
	}
	dir, err := os.MkdirTemp("", "pyhang-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := fs.WalkDir(testprogs.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := testprogs.FS.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), b, 0o644)
	}); err != nil {
		return fmt.Errorf("unpacking the example: %w", err)
	}
	ready := filepath.Join(dir, "ready.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The example runs as a grandchild, under a shell: a tracer that is also
	// its parent would see its ptrace stops raced by the wait for its exit.
	pidFile := filepath.Join(dir, "pid")
	prog := exec.CommandContext(ctx, "/bin/sh", "-c", `"$1" "$2" --ready "$3" & echo $! > "$4"; wait`,
		"sh", python, filepath.Join(dir, name+".py"), ready, pidFile)
	prog.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	prog.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var out strings.Builder
	prog.Stdout, prog.Stderr = &out, &out
	if err := prog.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", python, err)
	}
	exited := make(chan struct{})
	go func() { prog.Wait(); close(exited) }()
	defer func() {
		syscall.Kill(-prog.Process.Pid, syscall.SIGKILL)
		<-exited
	}()
	w := cmd.OutOrStdout()
	if f.format == "text" {
		fmt.Fprintf(w, "Running example %q (%s) under %s, waiting for it to hang…\n\n", name, demos[name], python)
	}
	if err := waitReady(ready, exited, &out); err != nil {
		return err
	}
	pidText, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("the example's pid: %w", err)
	}
	s, err := capture.Take(strings.TrimSpace(string(pidText)), capture.Options{})
	if err != nil {
		return err
	}
	if err := present(w, analyse(s), f.format, graph); err != nil || f.format == "json" {
		return err
	}
	fmt.Fprintf(w, "\n(The example was stopped. Run `pyhang diagnose PID` on a process of your own the same way.)\n")
	return nil
}

// waitReady waits until the example has written its ready file.
func waitReady(path string, exited <-chan struct{}, out *strings.Builder) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil {
			var r struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(b, &r) == nil {
				if r.Error != "" {
					return fmt.Errorf("the example did not reach its hang: %s", r.Error)
				}
				// The watcher thread exits right after writing: give it a moment.
				time.Sleep(300 * time.Millisecond)
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("the example exited early: %s", strings.TrimSpace(out.String()))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("the example did not hang within 60 s")
}
