package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

func intp(v int) *int { return &v }

func TestUnderline(t *testing.T) {
	for _, c := range []struct {
		name                       string
		source                     string
		indent, col, endCol, delta int
		want                       string
	}{
		{"one call of two", "x = f(a) + g(b)", 4, 8, 12, 0, "    ^^^^"},
		{"the whole statement", "f(a)", 4, 4, 8, 0, ""},
		{"the whole statement, then a comment", "f(a)  # why", 4, 4, 8, 0, ""},
		{"to the end of a line it continues past", "x = f(a,", 0, 4, 2, 1, "    ^^^^"},
		{"a column before the text", "f(a)", 4, 2, 6, 0, ""},
		{"past the text", "f(a)", 0, 2, 40, 0, ""},
		{"after a wide character", "é = f(a) + 1", 0, 5, 9, 0, "    ^^^^"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &snapshot.Frame{Source: c.source, SourceIndent: c.indent, Line: 10,
				Column: intp(c.col), EndColumn: intp(c.endCol), EndLine: intp(10 + c.delta)}
			if got := string(appendUnderline(nil, f)); got != c.want {
				t.Errorf("underline(%q, %d..%d) = %q, want %q", c.source, c.col, c.endCol, got, c.want)
			}
		})
	}
	if got := string(appendUnderline(nil, &snapshot.Frame{Source: "f(a)"})); got != "" {
		t.Errorf("no columns: %q", got)
	}
}

func TestCutNote(t *testing.T) {
	if got := cutNote(nil); got != "" {
		t.Errorf("cutNote(nil) = %q", got)
	}
	got := cutNote(&snapshot.Cut{Items: 3, Chars: 120, Collapsed: 1})
	if want := "   [cut: 3 items, 120 characters, 1 nested containers]"; got != want {
		t.Errorf("cutNote = %q, want %q", got, want)
	}
}

// TestWriteThreadParts: a thread's kernel name, its interpreter, where each
// interpreter's frames begin, locals in order with arguments and cuts, a line
// CPython gives none; and a thread without Python.
func TestWriteThreadParts(t *testing.T) {
	yes := true
	th := &snapshot.Thread{TID: 7, Ident: 99, Name: "worker\x1b[31m", OSName: "pool-7", Daemon: &yes,
		Interpreter: &snapshot.InterpreterRef{ID: 2}, GIL: "none", State: "sleeping",
		States: []snapshot.ThreadState{
			{Interpreter: snapshot.InterpreterRef{ID: 2}, Name: "Dummy-1", Frames: 1},
			{Interpreter: snapshot.InterpreterRef{ID: 0, Main: true}, Name: "worker", Frames: 1},
		},
		Frames: []snapshot.Frame{
			{Function: "park", Qualname: "park", File: "<string>", Line: 3, LineBasis: "loop-head",
				LocalList: []snapshot.Local{{Name: "n", Repr: "1", Argument: true}, {Name: "s", Repr: "'ab'…(9 more characters)", Cut: &snapshot.Cut{Chars: 9}}}},
			{Function: "run", Qualname: "run", File: "/app/w.py", Line: 5},
		}}
	var b bytes.Buffer
	writeThread(&b, th, []string{"python3"})
	out := b.String()
	for _, want := range []string{
		`Thread 7 "worker\x1b[31m" [OS name "pool-7"] (ident 99, subinterpreter 2, daemon)`,
		`-- in subinterpreter 2 (threading name there "Dummy-1"):`,
		`-- in the main interpreter (threading name there "worker"):`,
		"line 3, in park (no line of its own: the jump back to this loop's head)",
		"n (argument) = 1",
		"s = 'ab'…(9 more characters)   [cut: 9 characters]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("a raw escape reached the text:\n%q", out)
	}
	if got := threadTitle(&snapshot.Thread{TID: 9, Name: "w", OSName: "python3"}, []string{"python3"}); strings.Contains(got, "OS name") {
		t.Errorf("a thread with the inherited kernel name: %s", got)
	}
	b.Reset()
	writeThread(&b, &snapshot.Thread{TID: 8, OSName: "c-pause", NoThreadState: true, Ident: 0x7f00, GIL: "none", State: "blocked", Frames: []snapshot.Frame{}}, []string{"python3"})
	if out := b.String(); !strings.Contains(out, `Thread 8 "?" [OS name "c-pause"] (no Python thread state, pthread 0x7f00)`) ||
		!strings.Contains(out, "a thread without Python") {
		t.Errorf("thread without Python:\n%s", out)
	}
}

// TestInheritedOSName: a thread's kernel name is left out only when it is
// the process's own (the main thread's or the executable's), not when it is
// merely the most common: two threads renamed alike under an interpreter
// that names every thread (Debian's 3.14) keep their name in the text, and
// the main thread's name, the process's, is not shown against it.
func TestInheritedOSName(t *testing.T) {
	for _, c := range []struct {
		name  string
		exe   string
		names [4]string // main, pool-0, pool-1, ThreadPoolExecutor-0_0
		shown [4]bool
	}{
		{"every thread named (3.14)", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
			[4]string{"ld-linux-x86-64", "io-worker", "io-worker", "ThreadPoolExecu"}, [4]bool{false, true, true, true}},
		{"threads inherit (3.12)", "/usr/bin/python3.12",
			[4]string{"python", "io-worker", "io-worker", "python"}, [4]bool{false, true, true, false}},
		{"the main thread renamed itself", "/usr/bin/python3.12",
			[4]string{"server", "python3.12", "io-worker", "server"}, [4]bool{false, false, true, false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &snapshot.Snapshot{Target: snapshot.TargetInfo{Executable: c.exe}}
			for i, n := range []string{"MainThread", "pool-0", "pool-1", "ThreadPoolExecutor-0_0"} {
				s.Threads = append(s.Threads, snapshot.Thread{TID: 10 + i, Name: n, OSName: c.names[i], Main: i == 0})
			}
			in := inheritedOSName(s)
			for i := range s.Threads {
				got := threadTitle(&s.Threads[i], in)
				if shown := strings.Contains(got, "[OS name"); shown != c.shown[i] {
					t.Errorf("%s: OS name shown %v, want %v", got, shown, c.shown[i])
				}
			}
		})
	}
}

// TestWriteThreadStateLost: a thread whose state a truncated core lost is
// told as a Python thread of unknown state, never as one without Python.
func TestWriteThreadStateLost(t *testing.T) {
	var b bytes.Buffer
	writeThread(&b, &snapshot.Thread{TID: 8, OSName: "python3", StateLost: true, StackLost: true, Ident: 0x7f00,
		GIL: "unknown", State: "blocked", Frames: []snapshot.Frame{}}, []string{"python3"})
	out := b.String()
	if !strings.Contains(out, `Thread 8 "?" [OS name "python3"] (Python thread state unreadable, pthread 0x7f00)`) ||
		!strings.Contains(out, "whether it runs Python, and what, is unknown") || strings.Contains(out, "without Python") {
		t.Errorf("thread whose state was lost:\n%s", out)
	}
}
