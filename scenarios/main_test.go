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

// pyhangBin is the pyhang binary every test runs, built once by TestMain; renderBin is
// pyhang-render beside it, which pyhang runs to draw SVG and PNG.
var pyhangBin, renderBin string

// TestMain builds cmd/pyhang and cmd/pyhang-render into one temporary directory (mode
// 0755, as pyhang requires of the renderer's directory, and readable by other users),
// so the tests exercise the real command line (flags, exit codes, stderr) and not just
// the library. PYHANG_BIN=FILE tests that binary instead (a release build, say), with
// the pyhang-render beside it.
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
		pyhangBin, renderBin = abs, filepath.Join(filepath.Dir(abs), "pyhang-render")
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "pyhang-scenarios-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: temp dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: %v\n", err)
		return 1
	}
	pyhangBin, renderBin = filepath.Join(dir, "pyhang"), filepath.Join(dir, "pyhang-render")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// go test puts $GOROOT/bin first in PATH, so this is the toolchain running the test.
	// pyhang without cgo, as make build builds it.
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+"/", "github.com/pyhang/pyhang/cmd/pyhang")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: go build cmd/pyhang: %v\n%s", err, out)
		return 1
	}
	cmd = exec.CommandContext(ctx, "go", "build", "-o", dir+"/", "github.com/pyhang/pyhang/cmd/pyhang-render")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: go build cmd/pyhang-render: %v\n%s", err, out)
		return 1
	}
	for _, bin := range []string{pyhangBin, renderBin} {
		if err := os.Chmod(bin, 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "scenarios: %v\n", err)
			return 1
		}
	}
	return m.Run()
}
