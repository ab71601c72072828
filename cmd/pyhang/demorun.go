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
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pyhang/pyhang/internal/corepattern"
	"github.com/pyhang/pyhang/snapshot/capture"
	"github.com/pyhang/pyhang/testprogs"
	"github.com/spf13/cobra"
)

// demo is a bundled example: the program that runs, and what it shows.
type demo struct {
	prog  string
	what  string
	crash bool // it crashes: the diagnosis reads its core
}

// demos are the bundled examples, by name: the four hangs of the gdb
// debugging talk by the talk's names, and the programs of the tests.
var demos = map[string]demo{
	"job-queue":            {"talk_job_queue.py", "workers race between empty() and get() and starve on an empty queue", false},
	"http-pool":            {"talk_http_pool.py", "pool workers wait for HTTP answers that never come, with no timeout", false},
	"readers-writers":      {"talk_readers_writers.py", "a readers/writers lock left locked by a swallowed exception", false},
	"ctypes-crash":         {"talk_ctypes_crash.py", "a freed key passed to libcrypto through ctypes; the crash, read from its core", true},
	"deadlock":             {"deadlock.py", "two threads take two locks in opposite order", false},
	"self_deadlock":        {"self_deadlock.py", "a thread re-enters a plain Lock it already holds", false},
	"orphaned_lock":        {"orphaned_lock.py", "a readers/writers lock left locked by a swallowed exception", false},
	"orphaned_rlock":       {"orphaned_rlock.py", "an RLock still owned by a thread that died", false},
	"orphaned_rlock_pool":  {"orphaned_rlock_pool.py", "a pool worker's task takes an RLock and raises before its release()", false},
	"semaphore_leaked":     {"semaphore_leaked.py", "a pool's semaphore loses its units to handlers that fail before release()", false},
	"deadlock_rlock_join":  {"deadlock_rlock_join.py", "a three-thread cycle through an RLock, a Lock and a join", false},
	"all_blocked":          {"all_blocked.py", "every thread waits on something only another blocked thread could release", false},
	"talk_job_queue":       {"talk_job_queue.py", "workers race between empty() and get() and block forever", false},
	"starved_handoff":      {"starved_handoff.py", "a consumer waits on a Condition hand-off whose producer died", false},
	"held_by_bare_acquire": {"held_by_bare_acquire.py", "healthy: a slow thread holds a lock taken with a bare acquire()", false},
	"asyncio_lock_order":   {"asyncio_lock_order.py", "two asyncio tasks take two asyncio.Locks in opposite order", false},
	"asyncio_thread_lock":  {"asyncio_thread_lock.py", "a coroutine blocks the event loop on a threading.Lock a suspended task holds", false},
	"asyncio_event_stall":  {"asyncio_event_stall.py", "asyncio tasks wait on events only the other would set; the loop has nothing else to do", false},
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
		Long:  "demo runs one of the bundled programs (default: deadlock) under a Python 3.8+ interpreter,\nwaits until it hangs, diagnoses it and writes the wait-for graph, then stops it. An example\nthat crashes is diagnosed from the core the kernel writes for it.\n\n" + demoList(),
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

// talkDemos are the talk's four examples, listed first.
var talkDemos = []string{"job-queue", "http-pool", "readers-writers", "ctypes-crash"}

func demoList() string {
	var b strings.Builder
	b.WriteString("The four examples of the gdb debugging talk:\n")
	for _, n := range talkDemos {
		fmt.Fprintf(&b, "  %-22s %s\n", n, demos[n].what)
	}
	b.WriteString("More:\n")
	for _, n := range demoNames() {
		if !slices.Contains(talkDemos, n) {
			fmt.Fprintf(&b, "  %-22s %s\n", n, demos[n].what)
		}
	}
	return b.String()
}

func runDemo(cmd *cobra.Command, name string, f demoFlags) error {
	if err := checkFormat(f.format); err != nil {
		return err
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
	// A crashing example may leave its core (core_pattern permitting) in
	// its working directory, the demo's own folder.
	pidFile := filepath.Join(dir, "pid")
	d := demos[name]
	prog := exec.CommandContext(ctx, "/bin/sh", "-c", `ulimit -c "$5" 2>/dev/null; "$1" "$2" --ready "$3" & echo $! > "$4"; wait`,
		"sh", python, filepath.Join(dir, d.prog), ready, pidFile, coreLimit(d.crash))
	prog.Dir = dir
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
		verb := "hang"
		if d.crash {
			verb = "crash"
		}
		fmt.Fprintf(w, "Running example %q (%s) under %s, waiting for it to %s…\n\n", name, d.what, python, verb)
	}
	if err := waitReady(ready, exited, &out); err != nil {
		return err
	}
	pidText, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("the example's pid: %w", err)
	}
	target := strings.TrimSpace(string(pidText))
	if d.crash {
		if target, err = crashCore(target, dir, exited); err != nil {
			return err
		}
	}
	s, err := capture.Take(target, capture.Options{})
	if err != nil {
		return err
	}
	if err := present(w, &family{root: analyse(s)}, f.format, graph); err != nil || f.format == "json" {
		return err
	}
	if d.crash {
		fmt.Fprintf(w, "\n(The example crashed; this is the diagnosis of its core as the kernel wrote it. Run `pyhang diagnose CORE` on a core of your own the same way.)\n")
		return nil
	}
	fmt.Fprintf(w, "\n(The example was stopped. Run `pyhang diagnose PID` on a process of your own the same way.)\n")
	return nil
}

// coreLimit is the core size limit the example runs with: none for one that
// crashes on purpose, so the kernel writes its core; 0 for the others.
func coreLimit(crash bool) string {
	if crash {
		return "unlimited"
	}
	return "0"
}

// crashCore waits for the crashing example to die and finds its core.
func crashCore(pid, dir string, exited <-chan struct{}) (string, error) {
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		return "", errors.New("the example did not crash within 60 s of its last call")
	}
	n, err := strconv.Atoi(pid)
	if err != nil {
		return "", fmt.Errorf("the example's pid %q: %w", pid, err)
	}
	core, err := corepattern.Find(n, dir)
	if err != nil {
		return "", fmt.Errorf("the example crashed, but its core is not to be had: %w", err)
	}
	return core, nil
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
			if b, err := os.ReadFile(path); err == nil && json.Valid(b) {
				continue // written just before a crash: read it above
			}
			return fmt.Errorf("the example exited early: %s", strings.TrimSpace(out.String()))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("the example did not hang within 60 s")
}
