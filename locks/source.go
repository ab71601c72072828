package locks

import (
	"sort"

	"github.com/pyhang/pyhang/internal/pysource"
	"github.com/pyhang/pyhang/snapshot"
)

// sourceCache parses each source file of the snapshot once, read through
// the target's own view (snapshot.Files), and remembers, by line, the
// enclosing def and with statements looked up: a deep recursion asks about
// the same lines many times.
type sourceCache struct {
	view  snapshot.Sources
	files map[string]*sourceFile
	// last is the file looked up last: the frames of a stack, asked about
	// in turn, are mostly of one file.
	last   *sourceFile
	frames []string // the program's own frame files, once computed
	// logging maps a lock id to the logging module files of the frames
	// whose self.lock it is (loggingSites), once computed.
	logging map[string][]string
	// callsOf caches the method calls of a file, by file and methods.
	callsOf map[string][]pysource.Call
}

// sourceFile is one file of the cache: parsed (nil when the target's view
// has none), and what was looked up in it.
type sourceFile struct {
	path  string
	src   *pysource.File
	defs  map[int]defInfo
	withs map[int][]pysource.With
}

type fileLine struct {
	file string
	line int
}

type defInfo struct {
	line int
	name string
}

func newSourceCache(view snapshot.Sources) *sourceCache {
	return &sourceCache{view: view, files: map[string]*sourceFile{}}
}

// at returns the file at path, parsing it on first use, or taking it parsed
// from the view when the view parses (parsedSources).
func (c *sourceCache) at(path string) *sourceFile {
	if c.last != nil && c.last.path == path {
		return c.last
	}
	f, ok := c.files[path]
	if !ok {
		f = &sourceFile{path: path, defs: map[int]defInfo{}, withs: map[int][]pysource.With{}}
		if ps, ok := c.view.(parsedSources); ok {
			f.src = ps.Parsed(path)
		} else if c.view != nil {
			if text, err := c.view.Text(path); err == nil {
				f.src = pysource.Parse(text)
			}
		}
		c.files[path] = f
	}
	c.last = f
	return f
}

// parsedSources is a snapshot.Sources that parses its files too: a live
// snapshot's view has them parsed on another goroutine while it is taken.
type parsedSources interface {
	Parsed(path string) *pysource.File
}

// file returns the parsed file, or nil when the target's view has none.
func (c *sourceCache) file(path string) *pysource.File { return c.at(path).src }

// def returns the line and qualified name of the def enclosing a line.
func (c *sourceCache) def(path string, n int) (int, string) {
	f := c.at(path)
	if d, ok := f.defs[n]; ok {
		return d.line, d.name
	}
	var d defInfo
	if f.src != nil {
		d.line, d.name = f.src.Function(n)
	}
	f.defs[n] = d
	return d.line, d.name
}

// enclosingWith returns the with statements whose blocks enclose line n of
// the file (pysource.File.EnclosingWith), and false when the target's view
// has no such file.
func (c *sourceCache) enclosingWith(path string, n int) ([]pysource.With, bool) {
	f := c.at(path)
	if f.src == nil {
		return nil, false
	}
	w, ok := f.withs[n]
	if !ok {
		w = f.src.EnclosingWith(n)
		f.withs[n] = w
	}
	return w, true
}

// lineStart is the first physical line of the logical line covering line
// n of the file, or 0 when the target's view has no such file or line.
func (c *sourceCache) lineStart(path string, n int) int {
	f := c.at(path)
	if f.src == nil {
		return 0
	}
	if l := f.src.At(n); l != nil {
		return l.Start
	}
	return 0
}

// programFiles lists, once, the files of the snapshot's frames that are the
// program's own (outside the standard library), sorted: where its bare
// acquire() and release() calls may stand.
func (c *sourceCache) programFiles(s *snapshot.Snapshot) []string {
	if c.frames != nil {
		return c.frames
	}
	seen := map[string]bool{}
	c.frames = []string{}
	last, started := "", false
	for _, th := range s.Threads {
		for i := range th.Frames {
			f := th.Frames[i].File
			if started && f == last {
				continue // the frame looked at before is of the same file
			}
			last, started = f, true
			if !seen[f] {
				seen[f] = true
				if !isStdlib(f) {
					c.frames = append(c.frames, f)
				}
			}
		}
	}
	// A @contextmanager generator suspended at its yield is on no stack,
	// but its acquire() is the program's own.
	for _, ob := range s.Objects {
		if f := ob.Suspended; f != nil && !seen[f.File] {
			seen[f.File] = true
			if !isStdlib(f.File) {
				c.frames = append(c.frames, f.File)
			}
		}
	}
	sort.Strings(c.frames)
	return c.frames
}
