package capture

import (
	"bufio"
	"os"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// maxSourceBytes bounds the source files read to quote lines.
const maxSourceBytes = 8 << 20

// addSource fills each frame's Source with its line's text when the file is
// readable here.
func addSource(s *snapshot.Snapshot) {
	files := map[string][]string{}
	for i := range s.Threads {
		for j := range s.Threads[i].Frames {
			f := &s.Threads[i].Frames[j]
			lines, ok := files[f.File]
			if !ok {
				lines = readLines(f.File)
				files[f.File] = lines
			}
			if f.Line >= 1 && f.Line <= len(lines) {
				f.Source = strings.TrimSpace(lines[f.Line-1])
			}
		}
	}
}

func readLines(path string) []string {
	if path == "" || path[0] == '<' {
		return nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer fh.Close()
	if st, err := fh.Stat(); err != nil || !st.Mode().IsRegular() || st.Size() > maxSourceBytes {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
