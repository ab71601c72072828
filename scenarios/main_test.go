package scenarios

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// pyhangBin is the pyhang binary every test runs, built once by TestMain.
var pyhangBin string

// TestMain builds cmd/pyhang into a temporary directory, so the tests exercise the real
// command line (flags, exit codes, stderr) and not just the library. PYHANG_BIN=FILE
// tests that binary instead (a release build, say).
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if bin := os.Getenv("PYHANG_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "scenarios: PYHANG_BIN: %v\n", err)
			return 1
		}
		pyhangBin = abs
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "pyhang-scenarios-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: temp dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	pyhangBin = filepath.Join(dir, "pyhang")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// go test puts $GOROOT/bin first in PATH, so this is the toolchain running the test.
	cmd := exec.CommandContext(ctx, "go", "build", "-o", pyhangBin, "github.com/pyhang/pyhang/cmd/pyhang")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: go build cmd/pyhang: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}
