package capture

import (
	"slices"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// TestFrameFiles: each file once, in the order first seen, a file seen in
// an earlier thread or before another file not listed again.
func TestFrameFiles(t *testing.T) {
	frames := func(files ...string) []snapshot.Frame {
		out := make([]snapshot.Frame, len(files))
		for i, f := range files {
			out[i].File = f
		}
		return out
	}
	threads := []snapshot.Thread{
		{Frames: frames("/a.py", "/a.py", "/b.py", "/a.py", "/a.py")},
		{Frames: frames("/a.py", "/c.py", "/b.py", "/b.py")},
		{},
		{Frames: frames("/c.py", "/d.py")},
	}
	want := []string{"/a.py", "/b.py", "/c.py", "/d.py"}
	if got := frameFiles(threads); !slices.Equal(got, want) {
		t.Errorf("frameFiles = %q, want %q", got, want)
	}
}
