// Package testinterp finds the Python interpreters the end-to-end tests run against
// (pyenv builds, Debian's python3, Debian unstable's python3.13/3.14 fetched by
// scripts/install-test-deps.sh) and runs test programs under them: start and wait until
// ready, make gcore and kernel cores, wait until threads block.
//
// Environment:
//
//	PYHANG_REQUIRE_ALL=1      a missing expected interpreter fails the test instead of skipping it
//	PYHANG_PYTHONS=a,b        only use these interpreters (by name, e.g. unstable-3.14, or minor, e.g. 3.12)
//	PYHANG_UNSTABLE_DIR=DIR   where install-test-deps.sh put Debian unstable (default REPO/.cache/debian-unstable)
package testinterp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Interp is one Python interpreter to test against.
type Interp struct {
	Name    string   // "pyenv-3.12.1", "debian-3.11", "unstable-3.14"
	Version string   // exact "3.12.1", from running it
	Minor   int      // 12
	Cmd     []string // argv prefix that runs it
	Env     []string // extra env vars (appended to os.Environ())
	Exe     string   // the real ELF executable (Cmd[0] may be a wrapper script)
	Binary  string   // the ELF file that defines _PyRuntime (libpython3.X.so.1.0 for shared builds, else the executable)
	DWARF   bool     // Binary has .debug_info
	Static  bool     // libpython is linked into the executable
	// DebugDir is a folder of separate debug files (a .build-id tree) for this build's
	// files, outside the target's /usr/lib/debug: Debian unstable's -dbg packages, which
	// scripts/install-test-deps.sh extracts beside the interpreters. "" when none.
	DebugDir string
}

func (i Interp) String() string { return i.Name }

// Command runs the interpreter on script (or on any first argument, e.g. "-c") with args.
// Byte-code caching is off so test runs leave no __pycache__ in the source tree.
func (i Interp) Command(ctx context.Context, script string, args ...string) *exec.Cmd {
	argv := append(append(append([]string{}, i.Cmd[1:]...), script), args...)
	cmd := exec.CommandContext(ctx, i.Cmd[0], argv...)
	cmd.Env = append(append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"), i.Env...)
	return cmd
}

// skipped is an interpreter that was looked for and not used.
type skipped struct {
	name, reason string
}

// found is the result of discovery, computed once per test process.
type found struct {
	interps []Interp
	skipped []skipped
	missing []string // expected interpreters that are absent, with the reason
}

var (
	discoverOnce sync.Once
	discovered   found
)

// All returns every usable interpreter 3.8+, after PYHANG_PYTHONS filtering. It logs a
// table of the interpreters used and skipped. With PYHANG_REQUIRE_ALL=1 a missing
// expected interpreter is fatal; with none found at all the test is skipped.
func All(t testing.TB) []Interp {
	t.Helper()
	discoverOnce.Do(func() { discovered = discover() })
	d := discovered
	t.Log("Python interpreters:\n" + table(d))
	if os.Getenv("PYHANG_REQUIRE_ALL") == "1" && len(d.missing) > 0 {
		t.Fatalf("PYHANG_REQUIRE_ALL=1 and expected interpreters are missing:\n  %s", strings.Join(d.missing, "\n  "))
	}
	out := d.interps
	if f := os.Getenv("PYHANG_PYTHONS"); f != "" {
		out = filter(out, strings.Split(f, ","))
		if len(out) == 0 {
			t.Fatalf("PYHANG_PYTHONS=%q matches none of the interpreters found", f)
		}
	}
	if len(out) == 0 {
		t.Skip("no Python 3.8+ interpreter found (install pyenv versions or run scripts/install-test-deps.sh)")
	}
	return out
}

func filter(in []Interp, names []string) []Interp {
	var out []Interp
	for _, i := range in {
		for _, n := range names {
			n = strings.TrimSpace(n)
			if n == i.Name || n == fmt.Sprintf("3.%d", i.Minor) {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

func table(d found) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %-16s %-8s %-6s %-5s %-8s %s\n", "NAME", "VERSION", "BUILD", "DWARF", "DEBUGDIR", "BINARY")
	for _, i := range d.interps {
		build := "shared"
		if i.Static {
			build = "static"
		}
		dbg := "-"
		if i.DebugDir != "" {
			dbg = "yes"
		}
		fmt.Fprintf(&b, "  %-16s %-8s %-6s %-5v %-8s %s\n", i.Name, i.Version, build, i.DWARF, dbg, i.Binary)
	}
	for _, s := range d.skipped {
		fmt.Fprintf(&b, "  SKIPPED %s: %s\n", s.name, s.reason)
	}
	if f := os.Getenv("PYHANG_PYTHONS"); f != "" {
		fmt.Fprintf(&b, "  (filtered by PYHANG_PYTHONS=%s)\n", f)
	}
	return strings.TrimRight(b.String(), "\n")
}
