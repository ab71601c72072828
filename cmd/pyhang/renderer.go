package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pyhang/pyhang/internal/rendercache"
)

// rendererName is the program that draws DOT as SVG or PNG. It is a
// program of its own so that pyhang, which attaches to targets, links no
// Graphviz and no WASM runtime: go-graphviz compiles its WebAssembly in a
// package init, on every start, with a compilation cache under $TMPDIR.
const rendererName = "pyhang-render"

// Bounds on what the renderer may send back.
const (
	maxPicture  = 512 << 20
	maxRenderer = 64 << 10 // stderr
)

// findRenderer returns the renderer installed beside the running pyhang
// (found through /proc/self/exe, never through PATH) if it is safe to run:
// a regular file that it and its directory belong to root or to the
// effective user and that no one else can write.
func findRenderer() (string, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return "", fmt.Errorf("finding %s: where is pyhang itself: %w", rendererName, err)
	}
	path := filepath.Join(filepath.Dir(exe), rendererName)
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return "", missingRendererError{path}
	}
	if err := checkRenderer(path); err != nil {
		return "", fmt.Errorf("refusing to run %s: %w", path, err)
	}
	return path, nil
}

// missingRendererError says that there is no renderer beside pyhang.
type missingRendererError struct{ path string }

func (e missingRendererError) Error() string {
	return fmt.Sprintf("SVG and PNG pictures need %s installed beside pyhang, and %s does not exist: "+
		"build both with `make build` (into bin/) or `go install ./cmd/...`; a .dot graph needs nothing", rendererName, e.path)
}

// checkRenderer checks the renderer file and its directory.
func checkRenderer(path string) error {
	file, err := lstat(path)
	if err != nil {
		return err
	}
	switch file.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
	case syscall.S_IFLNK:
		return errors.New("it is a symbolic link; install the program itself beside pyhang")
	default:
		return errors.New("it is not a regular file")
	}
	if err := checkOwner("it", file); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	st, err := lstat(dir)
	if err != nil {
		return err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return checkOwner("its directory "+dir, st)
}

// checkOwner requires root or the effective user to own what st describes,
// and no one else to be able to write it.
func checkOwner(what string, st *syscall.Stat_t) error {
	if euid := uint32(os.Geteuid()); st.Uid != 0 && st.Uid != euid {
		return fmt.Errorf("%s is owned by uid %d, neither root nor you (uid %d)", what, st.Uid, euid)
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (mode %o): chmod go-w it", what, st.Mode&0o7777)
	}
	return nil
}

func lstat(p string) (*syscall.Stat_t, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	return &st, nil
}

// runRenderer draws dot as format ("svg" or "png") with the renderer at
// path. The renderer gets only TMPDIR in its environment: the user's own
// cache directory for go-graphviz's compiled code, or a directory that
// cannot hold one (then it compiles from scratch, slower, same picture).
func runRenderer(path, format string, dot []byte) ([]byte, error) {
	cache, err := rendercache.Dir()
	if err != nil {
		return renderWith(path, format, dot, rendercache.NoCache)
	}
	out, err := renderWith(path, format, dot, cache)
	if err == nil {
		return out, nil
	}
	// A cache go-graphviz cannot load (a file cut short by a crash, say)
	// makes its init panic. If drawing works without the cache, the cache
	// was at fault: drop it, and the next run builds it afresh.
	out, again := renderWith(path, format, dot, rendercache.NoCache)
	if again != nil {
		return nil, err
	}
	os.RemoveAll(filepath.Join(cache, "go-graphviz"))
	return out, nil
}

func renderWith(path, format string, dot []byte, tmpdir string) ([]byte, error) {
	cmd := exec.Command(path, format)
	cmd.Env = []string{"TMPDIR=" + tmpdir}
	cmd.Dir = "/"
	cmd.Stdin = bytes.NewReader(dot)
	out := &cappedBuffer{max: maxPicture}
	stderr := &cappedBuffer{max: maxRenderer}
	cmd.Stdout, cmd.Stderr = out, stderr
	err := cmd.Run()
	if err == nil {
		return out.Bytes(), nil
	}
	if msg := firstLine(stderr.String()); msg != "" {
		return nil, errors.New(msg)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return nil, fmt.Errorf("running %s: %w", path, err)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return nil, fmt.Errorf("%s was killed by %v", rendererName, ws.Signal())
	}
	return nil, fmt.Errorf("%s failed with exit status %d and said nothing", rendererName, exit.ExitCode())
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// cappedBuffer is a bytes.Buffer that refuses to grow beyond max bytes.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("%s wrote more than %d bytes", rendererName, b.max)
	}
	return b.Buffer.Write(p)
}
