package testinterp

import (
	"context"
	"debug/elf"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInterpreters runs every interpreter with a one-liner; with -v it prints the table
// of interpreters used and skipped (make test relies on that).
func TestInterpreters(t *testing.T) {
	for _, in := range All(t) {
		t.Run(in.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := in.Command(ctx, "-c", `import sys, threading, queue, json, socket, ctypes, concurrent.futures; print("%d.%d.%d" % sys.version_info[:3])`).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %v\n%s", in.Cmd, err, out)
			}
			if got := strings.TrimSpace(string(out)); got != in.Version {
				t.Errorf("printed %q, want %q", got, in.Version)
			}
			if in.Static != (in.Binary == resolved(t, in)) {
				t.Errorf("Static=%v but Binary=%s", in.Static, in.Binary)
			}
		})
	}
}

// resolved is the real executable behind in.Cmd[0] when that is an ELF file, else Binary
// (the unstable wrappers are shell scripts in front of a static executable).
func resolved(t *testing.T, in Interp) string {
	p, err := filepath.EvalSymlinks(in.Cmd[0])
	if err != nil {
		t.Fatal(err)
	}
	if f, err := elf.Open(p); err == nil {
		f.Close()
		return p
	}
	return in.Binary
}

// sleeper is a testprogs-style program: one thread blocks on a lock the main thread holds.
const sleeper = `import json, os, sys, threading, time
ready = sys.argv[sys.argv.index("--ready") + 1]
lock = threading.Lock()
lock.acquire()
threading.Thread(target=lock.acquire, name="blocked", daemon=True).start()
with open(ready + ".tmp", "w") as f:
    json.dump({"pid": os.getpid()}, f)
os.rename(ready + ".tmp", ready)
time.sleep(600)
`

// TestCores makes a gcore and a kernel core of a sleeping program under each interpreter.
func TestCores(t *testing.T) {
	script := filepath.Join(t.TempDir(), "sleeper.py")
	if err := os.WriteFile(script, []byte(sleeper), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, in := range All(t) {
		t.Run(in.Name, func(t *testing.T) {
			s, ready := Start(t, in, script)
			var r struct{ PID int }
			if err := json.Unmarshal(ready, &r); err != nil || r.PID != s.PID {
				t.Fatalf("ready %s (%v): pid %d, want %d", ready, err, r.PID, s.PID)
			}
			WaitBlocked(t, s.PID, 1, 30*time.Second)
			checkCore(t, Gcore(t, s.PID))
			path, ok := KernelCore(t, s)
			if !ok {
				t.Skip("no kernel core on this machine (reason logged above)")
			}
			checkCore(t, path)
		})
	}
}

func checkCore(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	if f.Type != elf.ET_CORE || f.Machine != elf.EM_X86_64 {
		t.Fatalf("%s: type %v machine %v, want ET_CORE x86-64", path, f.Type, f.Machine)
	}
	var notes, loads int
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_NOTE:
			notes++
		case elf.PT_LOAD:
			loads++
		}
	}
	if notes == 0 || loads == 0 {
		t.Fatalf("%s: %d PT_NOTE and %d PT_LOAD segments", path, notes, loads)
	}
	t.Logf("%s: ELF core, %d PT_LOAD", path, loads)
}
