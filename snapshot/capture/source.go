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
func addSource(s *snapshot.Snapshot, view snapshot.Sources) {
	s.Files = view
	files := map[string][]string{}
	var missing []string
	var frames []*snapshot.Frame
	for i := range s.Threads {
		for j := range s.Threads[i].Frames {
			frames = append(frames, &s.Threads[i].Frames[j])
		}
	}
	for i := range s.Tasks {
		for j := range s.Tasks[i].Frames {
			frames = append(frames, &s.Tasks[i].Frames[j])
		}
	}
	for _, f := range frames {
		lines, ok := files[f.File]
		if !ok {
			text, err := view.Text(f.File)
			if err != nil && !strings.HasPrefix(f.File, "<") && f.File != "" {
				missing = append(missing, err.Error())
			}
			lines = strings.Split(text, "\n")
			files[f.File] = lines
		}
		if f.Line >= 1 && f.Line <= len(lines) {
			line := strings.TrimRight(lines[f.Line-1], " \t\r\f\v")
			f.Source = strings.TrimLeft(line, " \t\f\v")
			f.SourceIndent = len(line) - len(f.Source)
		}
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
