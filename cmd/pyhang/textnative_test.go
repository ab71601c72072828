package main

import (
	"fmt"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// TestNativeLineAsFormatted holds appendNativeLine to the line fmt makes of
// the same frame.
func TestNativeLineAsFormatted(t *testing.T) {
	hostile := "a\x1b[31m\u202e\xff b"
	for _, nf := range []snapshot.NativeFrame{
		{},
		{PC: 0x7f0012345678, Symbol: "sem_clockwait", Offset: 0x8b, Module: "libc.so.6"},
		{PC: 0x55, Offset: 0, Module: "python3.8", File: "Python/ceval.c", Line: 1234, SignalFrame: true},
		{PC: 0xffffffffffffffff, Symbol: hostile, Offset: 1 << 63, Module: hostile, File: hostile, Line: -1},
		{PC: 1, Offset: 0x1234, SignalFrame: true},
	} {
		if got, want := nativeLine(&nf), formattedNativeLine(&nf); got != want {
			t.Errorf("got  %q\nwant %q", got, want)
		}
	}
}

func formattedNativeLine(nf *snapshot.NativeFrame) string {
	fn := "??"
	if nf.Symbol != "" {
		fn = fmt.Sprintf("%s+%#x", esc(nf.Symbol), nf.Offset)
	}
	where := ""
	switch {
	case nf.Module != "" && nf.Symbol == "":
		where = fmt.Sprintf(" (%s+%#x)", esc(nf.Module), nf.Offset)
	case nf.Module != "":
		where = fmt.Sprintf(" (%s)", esc(nf.Module))
	}
	line := ""
	if nf.File != "" {
		line = fmt.Sprintf(" at %s:%d", esc(nf.File), nf.Line)
	}
	if nf.SignalFrame {
		where += " <signal handler called>"
	}
	return fmt.Sprintf("%18s in %s%s%s", nf.PC, fn, line, where)
}
