package snapshot

import (
	"path/filepath"
	"strconv"
)

// The one way reports name a thread and a frame. The strings come from the
// target and are not escaped here: each renderer escapes for its medium.

// Handle is a thread's human name: its threading name, "MainThread" for
// the main thread when it has none, else "tid N".
func (t *Thread) Handle() string {
	switch {
	case t.Name != "":
		return t.Name
	case t.Main:
		return "MainThread"
	}
	return "tid " + strconv.Itoa(t.TID)
}

// Where is "deadlock.py:28 in post_entry": the file's base name, the line
// and the qualified function name.
func (f *Frame) Where() string {
	fn := f.Qualname
	if fn == "" {
		fn = f.Function
	}
	return filepath.Base(f.File) + ":" + strconv.Itoa(f.Line) + " in " + fn
}
