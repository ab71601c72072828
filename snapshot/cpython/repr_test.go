package cpython

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/pyhang/pyhang/snapshot/target"
)

func TestStrRepr(t *testing.T) {
	for in, want := range map[string]string{
		"hello":          `'hello'`,
		"it's":           `"it's"`,
		`say "hi"`:       `'say "hi"'`,
		`both ' and "`:   `'both \' and "'`,
		"tab\there\n":    `'tab\there\n'`,
		"back\\slash":    `'back\\slash'`,
		"\x00\x1f\x7f":   `'\x00\x1f\x7f'`,
		"café ünï":       `'café ünï'`,
		"\u00a0":         `'\xa0'`,
		"\u200b":         `'\u200b'`,
		"bad\xff\xfedir": `'bad\udcff\udcfedir'`,
		"\xef":           `'\udcef'`,
		"\ufffd":         "'\ufffd'",
	} {
		if got := strRepr(in); got != want {
			t.Errorf("strRepr(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestBytesRepr(t *testing.T) {
	if got, want := bytesRepr([]byte("\x00ab'\\\n\xff")), `b"\x00ab'\\\n\xff"`; got != want {
		t.Errorf("bytesRepr = %s, want %s", got, want)
	}
}

// TestFormatFloat checks float reprs against what Python's repr() printed
// for the same values.
func TestFormatFloat(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0.0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1.0, "1.0"},
		{2.5, "2.5"},
		{0.1, "0.1"},
		{0.0001, "0.0001"},
		{1e-05, "1e-05"},
		{1.5e-05, "1.5e-05"},
		{123456789.123, "123456789.123"},
		{1000000000000000.0, "1000000000000000.0"},
		{9999999999999998.0, "9999999999999998.0"},
		{1e+16, "1e+16"},
		{1.2345e+16, "1.2345e+16"},
		{1e+22, "1e+22"},
		{1e-300, "1e-300"},
		{math.NaN(), "nan"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{-1234.5, "-1234.5"},
		{3.141592653589793, "3.141592653589793"},
		{5e-324, "5e-324"},
		{1.7976931348623157e+308, "1.7976931348623157e+308"},
	} {
		if got := formatFloat(c.in); got != c.want {
			t.Errorf("formatFloat(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestCutDigits checks that a big int is cut to the width like a str.
func TestCutDigits(t *testing.T) {
	if got, cut := cutDigits("1234567890", 5); got != "12345…(5 more digits)" || cut != 5 {
		t.Errorf("got %q, cut %d", got, cut)
	}
	if got, cut := cutDigits("-42", 200); got != "-42" || cut != 0 {
		t.Errorf("got %q, cut %d", got, cut)
	}
}

func TestComplexRepr(t *testing.T) {
	for _, tc := range []struct {
		re, im float64
		want   string
	}{
		{1, 2, "(1+2j)"}, {0, 2, "2j"}, {math.Copysign(0, -1), -1.5, "(-0-1.5j)"}, {1e20, math.NaN(), "(1e+20+nanj)"},
		{0, 0, "0j"}, {2.5, math.Inf(-1), "(2.5-infj)"}, {1234567, 0.1, "(1234567+0.1j)"},
	} {
		if got := complexRepr(tc.re, tc.im); got != tc.want {
			t.Errorf("complexRepr(%v, %v) = %s, want %s", tc.re, tc.im, got, tc.want)
		}
	}
}

// TestReprUnreadable: a value whose memory the target does not hold (a core
// that did not keep it) is said to be unreadable, never written as a type
// pyhang does not decode, and the repr returns the read's error; a value
// pyhang does not decode keeps its own form and no error.
func TestReprUnreadable(t *testing.T) {
	l, _ := LayoutFor(12)
	const size = 4096
	im := newImage(l, size)
	const strType, setType, otherType = 0, 512, 1024
	im.typeObj(strType, "str")
	im.typeObj(setType, "set")
	im.typeObj(otherType, "Widget")
	// A str of 500 characters whose header ends the image: its characters
	// lie past it.
	long := size - int(l.StrASCIIData)
	im.strObj(long, strType, 500, "")
	// A set of one item whose hash table lies past the image.
	set := 2048
	im.ptr(set+obType, setType)
	im.u64(set+setUsed, 1)
	im.u64(set+setMask, 7)
	im.u64(set+setTable, im.addr(size+4096))
	widget := 2560
	im.ptr(widget+obType, otherType)
	p := fuzzProcess(l, im.b, true)

	for _, c := range []struct {
		name string
		at   int
		want string
		lost bool
	}{
		{"str past the image", long, fmt.Sprintf("<unreadable str object at %#x>", im.addr(long)), true},
		{"set table past the image", set, fmt.Sprintf("{<1 unreadable item at %#x>}", im.addr(size+4096)), true},
		{"a pointer past the image", size + 64, fmt.Sprintf("<unreadable object at %#x>", im.addr(size+64)), true},
		{"an undecoded type", widget, fmt.Sprintf("<Widget object at %#x>", im.addr(widget)), false},
	} {
		got, _, err := p.ReprLimited(im.addr(c.at), DefaultReprLimits)
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		if lost := errors.Is(err, target.ErrUnreadable); lost != c.lost {
			t.Errorf("%s: error %v, want one of unreadable memory: %v", c.name, err, c.lost)
		}
	}
}

// TestFitRepr: a str or bytes cut for a width is cut by what its repr
// prints, escapes counted at their printed width.
func TestFitRepr(t *testing.T) {
	for _, tc := range []struct {
		s     string
		width int
		want  string
	}{
		{"abcdef", 4, "abcd"},
		{"abc", 4, "abc"},
		{"\x1b\x1b\x1b\x1b", 9, "\x1b\x1b"}, // \x1b prints 4 wide
		{"a\u202eb", 6, "a"},                // \u202e prints 6 wide
		{"\n\n\n", 5, "\n\n"},               // \n prints 2 wide
		{"\U0001F600x", 1, "\U0001F600"},    // printable: 1 wide
	} {
		if got := fitStr(tc.s, tc.width); got != tc.want {
			t.Errorf("fitStr(%q, %d) = %q, want %q", tc.s, tc.width, got, tc.want)
		}
	}
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	fit := fitBytes(b, 200)
	if w := len(bytesRepr(fit)) - 3; w > 202 || w < 197 { // a quote escaped or not: 1 either way
		t.Errorf("fitBytes of 0..255 to 200: %d bytes, printing %d wide", len(fit), w)
	}
}
