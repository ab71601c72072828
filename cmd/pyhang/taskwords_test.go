package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// hostile is what a target may call its tasks, loops and coroutines.
const hostile = "evil\x1b[2J\x1b]0;pwned\x07\r\n\u009b31m"

// loadTaskSnapshot reads a stored snapshot of the heuristics tests.
func loadTaskSnapshot(t *testing.T, name string) *snapshot.Snapshot {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "heuristics", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// TestTaskWordsEscaped: every string about tasks and loops that came from
// the target reaches the terminal escaped, and the JSON exact.
func TestTaskWordsEscaped(t *testing.T) {
	for _, name := range []string{"asyncio_blocking_call", "asyncio_thread_lock", "asyncio_event_stall", "asyncio_lock_order"} {
		s := loadTaskSnapshot(t, name)
		for i := range s.Tasks {
			tk := &s.Tasks[i]
			tk.Name += hostile
			tk.Coro += hostile
			for j := range tk.Frames {
				tk.Frames[j].Qualname += hostile
				tk.Frames[j].Source += hostile
			}
		}
		for i := range s.Loops {
			s.Loops[i].Type += hostile
		}
		for _, ob := range s.Objects {
			ob.Type += hostile
			for k := range ob.Names {
				ob.Names[k] += hostile
			}
			ob.Global = ""
		}
		an := analyse(s)
		if len(an.findings) == 0 {
			t.Fatalf("%s: no finding to put into words", name)
		}
		var text bytes.Buffer
		writeDiagnosis(&text, an)
		writeDump(&text, s)
		for _, bad := range []string{"\x1b", "\x07", "\r", "\u009b"} {
			if strings.Contains(text.String(), bad) {
				t.Errorf("%s: the text report carries %q raw", name, bad)
			}
		}
		if !strings.Contains(text.String(), `evil\x1b[2J`) {
			t.Errorf("%s: the hostile names are not in the text report, escaped:\n%s", name, text.String())
		}
		var js bytes.Buffer
		if err := writeJSON(&js, an.report(true)); err != nil {
			t.Fatal(err)
		}
		var back struct {
			Tasks []struct {
				Name string `json:"name"`
			} `json:"tasks"`
			Findings []struct {
				Summary string `json:"summary"`
			} `json:"findings"`
		}
		if err := json.Unmarshal(js.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if len(back.Tasks) == 0 || !strings.HasSuffix(back.Tasks[0].Name, hostile) {
			t.Errorf("%s: the JSON does not keep the task's name exact: %q", name, back.Tasks)
		}
		if !strings.Contains(back.Findings[0].Summary, hostile) {
			t.Errorf("%s: the JSON summary does not keep the names exact: %q", name, back.Findings[0].Summary)
		}
	}
}
