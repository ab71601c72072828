package capture

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pyhang/pyhang/internal/pysource"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/target"
)

// A relative source path is the script of a Python up to 3.8 started as
// `python dir/prog.py` (3.9 makes the script's path absolute): its code is
// named by the path as given, relative to the directory the process was
// started in. Nothing records that directory for certain: a live process
// may have changed its working directory since, a core records none, and
// sys.path[0], the script's directory as Python set it, may have been
// changed by the program (its parent folder put first). So each lead is
// followed through the target's own view, and the file it finds is checked
// against the code that runs: a file whose lines do not hold what the
// frames say (a comment where a frame stands, another function) is never
// quoted. Where the leads disagree, or the lines rest on one indirect lead,
// a warning says what they were read by.

// codeAt is what a frame says its file holds: code of function at line,
// the function's code starting at first.
type codeAt struct {
	line, first int
	function    string
}

// maxCodeChecks bounds the frames a relative file is checked against.
const maxCodeChecks = 64

// relativeCode gathers, for each relative file of the threads' frames, what
// the frames say it holds; nil when no frame's file is relative.
func relativeCode(threads []snapshot.Thread) map[string][]codeAt {
	type fileCode struct {
		file string
		codeAt
	}
	var code map[string][]codeAt
	var seen map[fileCode]bool
	for i := range threads {
		frames := threads[i].Frames
		for j := range frames {
			f := &frames[j]
			if f.File == "" || f.File[0] == '/' || f.File[0] == '<' {
				continue
			}
			if code == nil {
				code, seen = map[string][]codeAt{}, map[fileCode]bool{}
			}
			c := fileCode{f.File, codeAt{line: f.Line, first: f.FirstLine, function: f.Function}}
			if !seen[c] && len(code[f.File]) < maxCodeChecks {
				seen[c] = true
				code[f.File] = append(code[f.File], c.codeAt)
			}
		}
	}
	return code
}

// relativeTo readies the view for the threads' relative files, if any:
// what their frames say they hold, and where the script may have been
// started (read from the target's memory only then).
func (v *fileView) relativeTo(p *cpython.Process, threads []snapshot.Thread) {
	if v.code = relativeCode(threads); v.code != nil {
		v.starts = p.StartDirs()
	}
}

// misfit says why the file cannot hold the code the frames run, "" when
// it can: each frame's line must hold a statement, within the function the
// frame runs, which starts where its code does (or at a decorator above).
// Lambdas and comprehensions are checked for their line only.
func misfit(f *pysource.File, code []codeAt) string {
	for _, c := range code {
		if f.At(c.line) == nil {
			return fmt.Sprintf("line %d holds no statement there", c.line)
		}
		if c.function != "<module>" && strings.HasPrefix(c.function, "<") {
			continue
		}
		def, qualname := f.Function(c.line)
		in := "in " + qualname
		if qualname == "<module>" {
			in = "at module level"
		}
		if c.function == "<module>" {
			if qualname != "<module>" {
				return fmt.Sprintf("line %d is %s there, not at module level", c.line, in)
			}
			continue
		}
		if qualname[strings.LastIndexByte(qualname, '.')+1:] != c.function {
			return fmt.Sprintf("line %d is %s there, not in %s", c.line, in, c.function)
		}
		if c.first > 0 && def != c.first && !(c.first < def && decorator(f, c.first)) {
			return fmt.Sprintf("%s starts at line %d there, not %d", c.function, def, c.first)
		}
	}
	return ""
}

// decorator reports whether line n is a decorator's.
func decorator(f *pysource.File, n int) bool {
	l := f.At(n)
	return l != nil && len(l.Tokens) > 0 && l.Tokens[0].Text == "@"
}

// lead is one way to resolve a relative path.
type lead struct {
	basis   string // "the working directory", "sys.path[0]"
	dir     string // the directory, for messages
	primary bool   // the working directory, or the sys.path[0] Python set
	open    func(path string) (*os.File, error)
}

// followed is where a lead led.
type followed struct {
	lead
	text   string
	parsed *pysource.File
	err    error
	misfit string
}

func (f *followed) fits() bool { return f.err == nil && f.misfit == "" }

// where names the file a lead found and the lead.
func (f *followed) where(path string) string {
	return fmt.Sprintf("%s (by %s)", filepath.Join(f.dir, path), f.basis)
}

// leads are the ways to resolve a relative path: the working directory
// (live), sys.path[0], and the later sys.path entries (a program that put
// an entry before its own).
func (v *fileView) leads() []lead {
	var out []lead
	if v.cwd != "" {
		dir, err := os.Readlink(v.cwd)
		if err != nil {
			dir = v.cwd
		}
		cwd := v.cwd
		out = append(out, lead{basis: "the working directory", dir: dir, primary: true,
			open: func(path string) (*os.File, error) { return target.OpenBeneath(cwd, path) }})
	} else if dir := v.coreCwd; dir != "" {
		out = append(out, lead{basis: "the working directory", dir: dir, primary: true,
			open: func(path string) (*os.File, error) { return target.OpenInRoot(v.root, filepath.Join(dir, path)) }})
	}
	for _, s := range v.starts {
		dir := s.Dir
		out = append(out, lead{basis: fmt.Sprintf("sys.path[%d]", s.Index), dir: dir, primary: s.Index == 0,
			open: func(path string) (*os.File, error) { return target.OpenInRoot(v.root, filepath.Join(dir, path)) }})
	}
	return out
}

// readRelative reads a relative path by every lead, and returns the text
// of the file that fits the running code, parsed, with a note on what it
// was found by (see leadNote). When files that differ both fit, the one
// the working directory and sys.path[0] agree on is taken; without that
// agreement, which one runs is unknown and none is quoted.
func (v *fileView) readRelative(path string) (string, *pysource.File, string, error) {
	leads := v.leads()
	if len(leads) == 0 {
		return "", nil, "", errNoRoot
	}
	all := make([]*followed, len(leads))
	var fit, differs *followed
	for i, l := range leads {
		f := &followed{lead: l}
		f.text, f.err = v.readFile(l.open(path))
		if f.err == nil {
			f.parsed = pysource.Parse(f.text)
			f.misfit = misfit(f.parsed, v.code[path])
		}
		all[i] = f
		switch {
		case !f.fits():
		case fit == nil:
			fit = f
		case f.text != fit.text && differs == nil:
			differs = f
		}
	}
	if fit != nil && (differs == nil || agreed(fit, all)) {
		return fit.text, fit.parsed, v.leadNote(path, fit, all), nil
	}
	if fit != nil {
		return "", nil, "", fmt.Errorf("%s and %s differ, and the lines of both fit the running code: which one the process runs is unknown",
			fit.where(path), differs.where(path))
	}
	for _, f := range all {
		if f.err == nil {
			return "", nil, "", fmt.Errorf("%s does not match the running code (%s)", f.where(path), f.misfit)
		}
	}
	// Every primary lead's reason, on one line (a warning is a line).
	var err error
	for _, f := range all {
		switch {
		case err == nil:
			err = fmt.Errorf("by %s (%s): %w", f.basis, f.dir, f.err)
		case f.primary:
			err = fmt.Errorf("%w; by %s (%s): %w", err, f.basis, f.dir, f.err)
		}
	}
	return "", nil, "", err
}

// agreed reports whether the working directory and sys.path[0] both led to
// fit's text: two leads that are each right unless the program moved it
// (chdir, or a sys.path changed in place), and agree.
func agreed(fit *followed, all []*followed) bool {
	cwd, path0 := false, false
	for _, f := range all {
		if f.fits() && f.text == fit.text {
			cwd = cwd || f.basis == "the working directory"
			path0 = path0 || f.basis == "sys.path[0]"
		}
	}
	return cwd && path0
}

// leadNote says what the file quoted was found by, "" when the working
// directory and sys.path[0] agree on it and no other lead found another
// file that fits. Otherwise the leads that found it are named, with what
// the others found.
func (v *fileView) leadNote(path string, fit *followed, all []*followed) string {
	var by, other []string
	quiet := agreed(fit, all)
	for _, f := range all {
		at := filepath.Join(f.dir, path)
		switch {
		case f.fits() && f.text == fit.text:
			by = append(by, f.basis)
		case f.fits():
			quiet = false
			other = append(other, fmt.Sprintf("by %s it is %s, which differs", f.basis, at))
		case f.err != nil && f.primary:
			other = append(other, fmt.Sprintf("by %s it is %s, not readable", f.basis, at))
		case f.err == nil:
			other = append(other, fmt.Sprintf("by %s it is %s, which does not match the running code (%s)", f.basis, at, f.misfit))
		}
	}
	if quiet {
		return ""
	}
	note := fmt.Sprintf("%s: lines quoted from %s, found by %s", path, filepath.Join(fit.dir, path), strings.Join(by, " and "))
	if v.cwd == "" && v.coreCwd == "" {
		note += " (a core records no working directory)"
	}
	for _, o := range other {
		note += "; " + o
	}
	return note
}
