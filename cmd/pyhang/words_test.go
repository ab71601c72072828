package main

import (
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/safetext"
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// TestFrameEvidenceWords: a wait named from the Python frame says so, in the
// thread's evidence and in the findings that rest on it, with the target's
// strings escaped.
func TestFrameEvidenceWords(t *testing.T) {
	w := &words{snap: &snapshot.Snapshot{}, locks: &locks.Analysis{}, esc: safetext.Escape}
	ev := []locks.Evidence{{Basis: locks.BasisPythonFrame, Addr: 0x7f00deadbe00, Type: "_thread.\x1b[2Jlock",
		At: &locks.Site{File: "/srv/app/deadlock.py", Line: 28, Function: "post_entry"}, Method: "__enter__", Via: "with-entry"}}
	got := w.evidence(ev)
	for _, want := range []string{"from the Python frame (indirect)", "deadlock.py:28", "__enter__()", "exception-table depth", "futex 0x7f00deadbe00 matched no lock"} {
		if !strings.Contains(got, want) {
			t.Errorf("evidence %q does not say %q", got, want)
		}
	}
	if strings.Contains(got, "\x1b") {
		t.Errorf("evidence %q carries a raw escape from the target", got)
	}
	if note := w.indirect(ev); !strings.Contains(note, "Python frame") || !strings.Contains(note, "__enter__()") {
		t.Errorf("finding note %q does not say the wait is named from the frame", note)
	}
	if note := w.indirect([]locks.Evidence{{Basis: locks.BasisParked, Addr: 0x10}}); note != "" {
		t.Errorf("a wait the kernel names got the note %q", note)
	}
}
