package capture

import (
	"testing"

	"github.com/pyhang/pyhang/snapshot/cpython"
)

// A thread state created for a new thread carries its creator's ident until
// the new thread runs: it is the one without frames.
func TestStartingThreads(t *testing.T) {
	frames := []cpython.FrameKept{{Code: 0x1000}}
	got := startingThreads([]cpython.ThreadState{
		{Addr: 0x10, Ident: 1, Kept: frames}, // the creator, in Thread.start
		{Addr: 0x20, Ident: 1},               // the new thread, not running yet
		{Addr: 0x30, Ident: 2},               // another thread, alone with its ident
		{Addr: 0x40, Ident: 3, Kept: frames},
	})
	if len(got) != 1 || !got[0x20] {
		t.Errorf("starting thread states %v, want only 0x20", got)
	}
}
