package locks

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// A lock taken with a bare acquire() leaves no trace on the value stack. Who
// may hold it is judged from code position instead: a thread whose frame
// stands after an acquire() of the lock and before its release() in the same
// function probably holds it. This is evidence from the source files, and the
// report says so.

// Site is a call of acquire() or release() on a named lock in the source.
type Site struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Function string `json:"function"`
	Call     string `json:"call"` // "acquire" or "release"
	def      int    // line of the enclosing def
}

const maxSourceBytes = 8 << 20

// sourceCache holds the source files read, and the enclosing def of each
// line looked up (a deep recursion asks for the same lines many times).
type sourceCache struct {
	files  map[string][]string
	defs   map[fileLine]defInfo
	frames []string // the snapshot's frame files, once computed
}

type fileLine struct {
	file string
	line int
}

type defInfo struct {
	line int
	name string
}

// frameFiles lists, once, the files of every frame of the snapshot, sorted.
func (c *sourceCache) frameFiles(s *snapshot.Snapshot) []string {
	if c.frames != nil {
		return c.frames
	}
	seen := map[string]bool{}
	c.frames = []string{}
	for _, th := range s.Threads {
		for i := range th.Frames {
			if f := th.Frames[i].File; !seen[f] {
				seen[f] = true
				c.frames = append(c.frames, f)
			}
		}
	}
	sort.Strings(c.frames)
	return c.frames
}

func newSourceCache() *sourceCache {
	return &sourceCache{files: map[string][]string{}, defs: map[fileLine]defInfo{}}
}

// def is enclosingDef of a file's line, memoised.
func (c *sourceCache) def(path string, n int) (int, string) {
	if d, ok := c.defs[fileLine{path, n}]; ok {
		return d.line, d.name
	}
	line, name := enclosingDef(c.lines(path), n)
	c.defs[fileLine{path, n}] = defInfo{line, name}
	return line, name
}

func (c *sourceCache) lines(path string) []string {
	if l, ok := c.files[path]; ok {
		return l
	}
	var out []string
	if fh, err := os.Open(path); err == nil {
		if st, err := fh.Stat(); err == nil && st.Mode().IsRegular() && st.Size() <= maxSourceBytes {
			sc := bufio.NewScanner(fh)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				out = append(out, sc.Text())
			}
		}
		fh.Close()
	}
	c.files[path] = out
	return out
}

var (
	defLine   = regexp.MustCompile(`^(\s*)(?:async\s+)?def\s+(\w+)`)
	classLine = regexp.MustCompile(`^(\s*)class\s+(\w+)`)
)

// enclosingDef returns the line and qualified name (Class.method for a
// method) of the def that contains line n (1-based).
func enclosingDef(lines []string, n int) (int, string) {
	if n < 1 || n > len(lines) {
		return 0, ""
	}
	ind := indentOf(lines[n-1])
	for i := n - 1; i >= 1 && n-i < 5000; i-- {
		m := defLine.FindStringSubmatch(lines[i-1])
		if m == nil || len(m[1]) >= ind {
			continue
		}
		name := m[2]
		for j := i - 1; j >= 1 && i-j < 5000 && len(m[1]) > 0; j-- {
			if c := classLine.FindStringSubmatch(lines[j-1]); c != nil && len(c[1]) < len(m[1]) {
				name = c[2] + "." + name
				break
			}
			if d := defLine.FindStringSubmatch(lines[j-1]); d != nil && len(d[1]) < len(m[1]) {
				break // a nested function: keep the bare name
			}
		}
		return i, name
	}
	return 0, "<module>"
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " \t")) }

// lockNames gives the identifiers code would use for a lock: the last
// component of each of its names ("file_lock" for ReadersWriters.file_lock).
func lockNames(ob *snapshot.Object) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range ob.Names {
		if i := strings.LastIndexByte(n, '.'); i >= 0 {
			n = n[i+1:]
		}
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// sitesOf finds acquire()/release() calls on any of the lock's names in the
// files of the snapshot's frames.
func sitesOf(s *snapshot.Snapshot, ob *snapshot.Object, src *sourceCache) []Site {
	names := lockNames(ob)
	if len(names) == 0 {
		return nil
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	re := regexp.MustCompile(`\b(?:` + strings.Join(quoted, "|") + `)\.(acquire|release)\s*\(`)
	var out []Site
	for _, p := range src.frameFiles(s) {
		if isStdlib(p) {
			continue
		}
		lines := src.lines(p)
		for i, l := range lines {
			code := l
			if j := strings.IndexByte(code, '#'); j >= 0 {
				code = code[:j]
			}
			m := re.FindStringSubmatch(code)
			if m == nil || strings.HasPrefix(strings.TrimSpace(code), "with ") {
				continue
			}
			def, fn := src.def(p, i+1)
			out = append(out, Site{File: p, Line: i + 1, Function: fn, Call: m[1], def: def})
		}
	}
	return out
}

// isStdlib skips the interpreter's own library: its locks are not the user's.
func isStdlib(path string) bool {
	return strings.Contains(path, "/lib/python3") && !strings.Contains(path, "site-packages")
}

// probableHolds looks for holders of locked Locks that nobody provably holds.
func (a *Analysis) probableHolds(x *index) {
	src := x.src
	a.BareSites = map[string][]Site{}
	ids := make([]string, 0)
	for id, ob := range x.s.Objects {
		if ob.Kind == snapshot.KindLock && ob.Locked != nil && *ob.Locked && len(a.Holders[id]) == 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		ob := x.s.Objects[id]
		sites := sitesOf(x.s, ob, src)
		if len(sites) == 0 {
			continue
		}
		a.BareSites[id] = sites
		for i := range x.s.Threads {
			th := &x.s.Threads[i]
			if w := a.Waits[th.TID]; w != nil && w.Object == id {
				continue
			}
			for fi := range th.Frames {
				if h, ok := insideRegion(&th.Frames[fi], sites, src); ok {
					h.Ref, h.Frame = ref(ob), fi
					a.addHold(th.TID, h)
					break
				}
			}
		}
	}
}

// insideRegion reports whether the frame stands after an acquire() and before
// the next release() of the same function.
func insideRegion(f *snapshot.Frame, sites []Site, src *sourceCache) (Hold, bool) {
	if !slices.ContainsFunc(sites, func(st Site) bool { return st.File == f.File }) {
		return Hold{}, false
	}
	def, _ := src.def(f.File, f.Line)
	var acq *Site
	for i := range sites {
		st := &sites[i]
		if st.File != f.File || st.def != def || st.Line >= f.Line {
			continue
		}
		if st.Call == "acquire" {
			acq = st
		} else if acq != nil && st.Line > acq.Line {
			acq = nil // released again before the frame's line
		}
	}
	if acq == nil {
		return Hold{}, false
	}
	ev := fmt.Sprintf("inside acquire() at %s:%d", filepath.Base(acq.File), acq.Line)
	rel := "no release() after it in " + acq.Function
	for _, st := range sites {
		if st.File == f.File && st.def == def && st.Call == "release" && st.Line >= f.Line {
			rel = fmt.Sprintf("release() at :%d", st.Line)
			break
		}
	}
	return Hold{Evidence: ev + " … " + rel + ", now at line " + fmt.Sprint(f.Line), Probable: true}, true
}
