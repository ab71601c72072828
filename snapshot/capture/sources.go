package capture

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pyhang/pyhang/internal/pysource"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/target"
)

// Source files are read for two things: quoting each frame's line, and
// judging where a lock was taken with a bare acquire(). Both must see the
// file the target runs, so every path is resolved inside the target's own
// root: /proc/PID/root for a live process (its mount namespace: a container
// sees its own /app/main.py), the --sysroot folder for a core. Resolution is
// confined to that root (openat2 RESOLVE_IN_ROOT), so an absolute symbolic
// link inside a container cannot lead to the host's file of that name.

const (
	// maxSourceBytes bounds one source file.
	maxSourceBytes = 8 << 20
	// maxSourceTotal bounds all source files read for one snapshot.
	maxSourceTotal = 64 << 20
)

// fileView implements snapshot.Sources for one target.
type fileView struct {
	root string // directory that is "/" for the target
	cwd  string // the target's working directory, /proc/PID/cwd ("" for a core)
	// coreCwd is the working directory a core pyhang core wrote recorded,
	// a path in the target's file system ("" for other cores).
	coreCwd string
	// starts are the directories the target's script may have been started
	// from (cpython.StartDirs), in the target's own file system, and code
	// what the frames of each relative file say its lines hold: a relative
	// path is resolved as the process resolved it, and a file found is
	// checked against the running code (relative.go). Set before the first
	// read.
	starts []cpython.StartDir
	code   map[string][]codeAt
	desc   string // how the view is named in messages: "pid 123's root"

	mu    sync.Mutex
	cache map[string]*sourceText
	total int64
}

type sourceText struct {
	text string
	err  error
	// note says what a relative path was resolved by, when the evidence
	// is indirect or disagrees (relative.go); "" otherwise.
	note string

	parse  sync.Once
	parsed *pysource.File // nil until Parsed, and for a file not read
}

// errNoRoot is returned for relative paths when the target's working
// directory is unknown (a core).
var errNoRoot = errors.New("relative path, and the target's working directory is unknown")

func liveView(pid int) *fileView {
	p := fmt.Sprintf("/proc/%d", pid)
	return &fileView{root: p + "/root", cwd: p + "/cwd", desc: fmt.Sprintf("pid %d's own file system (%s/root)", pid, p)}
}

func coreView(sysroot string) *fileView {
	if sysroot == "" {
		return &fileView{root: "/", desc: "this machine's file system (the core's; use --sysroot for a core from elsewhere)"}
	}
	return &fileView{root: sysroot, desc: "--sysroot " + sysroot}
}

// Text returns a source file's text as the target sees it.
func (v *fileView) Text(path string) (string, error) {
	st := v.entry(path)
	return st.text, st.err
}

// Parsed returns a source file parsed, nil when it cannot be read. Each file
// is parsed once, and may be parsed on another goroutine (prefetch) while
// the snapshot is completed.
func (v *fileView) Parsed(path string) *pysource.File {
	st := v.entry(path)
	st.parse.Do(func() {
		if st.err == nil {
			st.parsed = pysource.Parse(st.text)
		}
	})
	return st.parsed
}

// prefetch reads and parses files: what the report quotes (addSource) and
// the analysis parses. It runs on the helper while the snapshot is
// completed, and costs the snapshot's own goroutine nothing then.
func (v *fileView) prefetch(files []string) {
	for _, f := range files {
		v.Parsed(f)
	}
}

// frameFiles lists the files of the threads' frames, each once. A frame is
// looked up only when its file is not the previous frame's: a thread's
// frames are mostly in the file of the frame before, and of 12,382 frames
// (102 threads, 3.12) looking each up took 0.3 ms.
func frameFiles(threads []snapshot.Thread) []string {
	var files []string
	seen := map[string]bool{}
	last := ""
	for i := range threads {
		for j := range threads[i].Frames {
			f := threads[i].Frames[j].File
			if f == last {
				continue
			}
			last = f
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	return files
}

// entry returns the file's cache entry, read on first use.
func (v *fileView) entry(path string) *sourceText {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cache == nil {
		v.cache = map[string]*sourceText{}
	}
	if st, ok := v.cache[path]; ok {
		return st
	}
	st := &sourceText{}
	switch {
	case path == "" || strings.HasPrefix(path, "<"):
		st.err = errors.New("not a file")
	case filepath.IsAbs(path):
		st.text, st.err = v.readFile(target.OpenInRoot(v.root, path))
	default:
		var parsed *pysource.File
		st.text, parsed, st.note, st.err = v.readRelative(path)
		if parsed != nil {
			st.parse.Do(func() { st.parsed = parsed })
		}
	}
	if st.err != nil {
		st.err = fmt.Errorf("%s: not readable in %s: %w", path, v.desc, st.err)
	}
	v.cache[path] = st
	return st
}

// readFile reads an opened source file, within the bounds of one file and
// of the snapshot.
func (v *fileView) readFile(f *os.File, err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", errors.New("not a regular file")
	}
	if st.Size() > maxSourceBytes {
		return "", fmt.Errorf("%d bytes, more than the %d read for a source file", st.Size(), maxSourceBytes)
	}
	if v.total+st.Size() > maxSourceTotal {
		return "", fmt.Errorf("the %d MiB read for this snapshot's source files are used up", maxSourceTotal>>20)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSourceBytes))
	if err != nil {
		return "", err
	}
	v.total += int64(len(b))
	return string(b), nil
}
