package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// TestMixedStack: native frames as gdb's bt prints them, Python frames under the
// interpreter frame that runs them, target strings escaped, unplaced Python frames
// and the reason a stack ends last.
func TestMixedStack(t *testing.T) {
	one, two := 1, 2
	th := &snapshot.Thread{TID: 7, Name: "w", GIL: "none", State: "blocked",
		Native: []snapshot.NativeFrame{
			{PC: 0x7f0000001010, Symbol: "sem_wait", Offset: 0x10, Module: "libc.so.6"},
			{PC: 0x7f0000002020, Symbol: "_PyEval_EvalFrameDefault", Offset: 0x20, Module: "libpython3.12.so", File: "Python/ceval.c", Line: 42},
			{PC: 0x55000003030, Offset: 0x3030, Module: "evil\x1b]0;x\x07.so"},
		},
		NativeEnd: "return address 0x0 is not in mapped code",
		Frames: []snapshot.Frame{
			{Function: "inner", Qualname: "C.inner", File: "/x/a.py", Line: 3, Source: "lock.acquire()", Native: &one},
			{Function: "outer", Qualname: "outer", File: "/x/\x1b[2Ja.py", Line: 9, Native: &one},
			{Function: "lost", Qualname: "lost", File: "/x/b.py", Line: 1},
			{Function: "bad", Qualname: "bad", File: "/x/c.py", Line: 1, Native: &two},
		},
	}
	var b bytes.Buffer
	writeThread(&b, th, "python3")
	out := b.String()
	for _, want := range []string{
		"  #0       0x7f0000001010 in sem_wait+0x10 (libc.so.6)\n",
		"  #1       0x7f0000002020 in _PyEval_EvalFrameDefault+0x20 at Python/ceval.c:42 (libpython3.12.so)\n" +
			"        File \"/x/a.py\", line 3, in C.inner\n          lock.acquire()\n" +
			"        File \"/x/\\x1b[2Ja.py\", line 9, in outer\n",
		"  #2        0x55000003030 in ?? (evil\\x1b]0;x\\x07.so+0x3030)\n" +
			"        File \"/x/c.py\", line 1, in bad\n",
		"  (native stack ends here: return address 0x0 is not in mapped code)\n" +
			"  Python frames not placed on the native stack (most recent call first):\n" +
			"    File \"/x/b.py\", line 1, in lost\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("unescaped control characters in:\n%q", out)
	}
}

func TestNativeChain(t *testing.T) {
	one := 1
	th := &snapshot.Thread{
		Native: []snapshot.NativeFrame{
			{PC: 0x7f0000001010, Symbol: "sem_wait", Offset: 0x10, Module: "libc.so.6"},
			{PC: 0x7f0000001020, Offset: 0x1020, Module: "libc.so.6"},
			{PC: 0x7f0000002020, Symbol: "_PyEval_EvalFrameDefault", Offset: 0x20, Module: "libpython3.12.so"},
			{PC: 0x7f0000002030, Symbol: "PyEval_EvalCode", Offset: 0x20, Module: "libpython3.12.so"},
		},
		Frames: []snapshot.Frame{{Function: "f", Native: &one}, {Function: "g"}},
	}
	th.Frames[0].Native = new(int)
	*th.Frames[0].Native = 2
	want := "sem_wait (libc.so.6) ← ?? (libc.so.6+0x1020) ← _PyEval_EvalFrameDefault (libpython3.12.so)"
	if got := nativeChain(th); got != want {
		t.Errorf("nativeChain = %q, want %q", got, want)
	}
	if got := nativeChain(&snapshot.Thread{}); got != "" {
		t.Errorf("without native frames: %q", got)
	}
}
