package capture

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// maxMissingWarnings bounds the warnings about source files not found.
const maxMissingWarnings = 8

// addSource fills each frame's Source with its line's text, read through the
// target's view, and warns once per file that cannot be read there (its
// lines go unquoted, and bare acquire() sites in it cannot be judged).
func addSource(s *snapshot.Snapshot, view *fileView) {
	s.Files = view
	files := map[string]*sourceLines{}
	var missing, notes []string
	var src *sourceLines
	// Each frame in place: a list of the frames first (12,382 pointers on
	// 102 threads) was fresh memory the snapshot touched for nothing.
	add := func(f *snapshot.Frame) {
		if src == nil || src.path != f.File {
			var ok bool
			if src, ok = files[f.File]; !ok {
				st := view.entry(f.File)
				if st.err != nil && !strings.HasPrefix(f.File, "<") && f.File != "" {
					missing = append(missing, st.err.Error())
				}
				if st.note != "" {
					notes = append(notes, st.note)
				}
				src = newSourceLines(f.File, st.text)
				files[f.File] = src
			}
		}
		if line, indent, ok := src.line(f.Line); ok {
			f.Source, f.SourceIndent = line, indent
		}
	}
	for i := range s.Threads {
		for j := range s.Threads[i].Frames {
			add(&s.Threads[i].Frames[j])
		}
	}
	for i := range s.Tasks {
		for j := range s.Tasks[i].Frames {
			add(&s.Tasks[i].Frames[j])
		}
	}
	sort.Strings(notes)
	for _, n := range notes {
		s.Target.Warnings = append(s.Target.Warnings, "source "+n)
	}
	sort.Strings(missing)
	for i, m := range missing {
		if i == maxMissingWarnings {
			s.Target.Warnings = append(s.Target.Warnings, fmt.Sprintf("%d more source files are not readable", len(missing)-i))
			break
		}
		s.Target.Warnings = append(s.Target.Warnings, "source "+m)
	}
}

// sourceLines is one file's lines, each trimmed once: a deep stack of a
// recursion, or many threads running the same code, stand on a few lines.
type sourceLines struct {
	path    string
	lines   []string
	trimmed []bool
	indent  []int
}

func newSourceLines(path, text string) *sourceLines {
	lines := strings.Split(text, "\n")
	return &sourceLines{path: path, lines: lines, trimmed: make([]bool, len(lines)), indent: make([]int, len(lines))}
}

// line is line n (from 1) without its indent and trailing blanks, and the
// indent's length; false for a line the file lacks.
func (s *sourceLines) line(n int) (string, int, bool) {
	if n < 1 || n > len(s.lines) {
		return "", 0, false
	}
	i := n - 1
	if !s.trimmed[i] {
		line := strings.TrimRight(s.lines[i], " \t\r\f\v")
		s.lines[i] = strings.TrimLeft(line, " \t\f\v")
		s.indent[i] = len(line) - len(s.lines[i])
		s.trimmed[i] = true
	}
	return s.lines[i], s.indent[i], true
}
