package locks

import (
	"sort"

	"github.com/pyhang/pyhang/internal/pysource"
	"github.com/pyhang/pyhang/snapshot"
)

// sourceCache parses each source file of the snapshot once, read through
// the target's own view (snapshot.Files), and remembers the enclosing def of
// each line looked up (a deep recursion asks for the same lines many times).
type sourceCache struct {
	view   snapshot.Sources
	files  map[string]*pysource.File
	defs   map[fileLine]defInfo
	frames []string // the program's own frame files, once computed
	// callsOf caches the method calls of a file, by file and methods.
	callsOf map[string][]pysource.Call
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
	return &sourceCache{view: view, files: map[string]*pysource.File{}, defs: map[fileLine]defInfo{}}
}

// file returns the parsed file, or nil when the target's view has none.
func (c *sourceCache) file(path string) *pysource.File {
	if f, ok := c.files[path]; ok {
		return f
	}
	var f *pysource.File
	if c.view != nil {
		if text, err := c.view.Text(path); err == nil {
			f = pysource.Parse(text)
		}
	}
	c.files[path] = f
	return f
}

// def returns the line and qualified name of the def enclosing a line.
func (c *sourceCache) def(path string, n int) (int, string) {
	if d, ok := c.defs[fileLine{path, n}]; ok {
		return d.line, d.name
	}
	var d defInfo
	if f := c.file(path); f != nil {
		d.line, d.name = f.Function(n)
	}
	c.defs[fileLine{path, n}] = d
	return d.line, d.name
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
	for _, th := range s.Threads {
		for i := range th.Frames {
			if f := th.Frames[i].File; !seen[f] {
				seen[f] = true
				if !isStdlib(f) {
					c.frames = append(c.frames, f)
				}
			}
		}
	}
	sort.Strings(c.frames)
	return c.frames
}
