package safetext

import (
	"strconv"
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"worker-1":         "worker-1",
		"naïve 线程":         "naïve 线程",
		"\x1b]0;pwned\a":   `\x1b]0;pwned\x07`,
		"a\x1b[2Jb":        `a\x1b[2Jb`,
		"tab\there\nnl":    `tab\x09here\x0anl`,
		"\xff\xfe":         `\xff\xfe`,
		"abc\u202egnp.exe": `abc\u202egnp.exe`,
		"zero\u200bwidth":  `zero\u200bwidth`,
		"c1\u009bcsi":      `c1\u009bcsi`,
		"del\x7f":          `del\x7f`,
		`C:\temp\x1b`:      `C:\temp\x1b`,
		"\\x1b\x1b":        `\\x1b\x1b`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClip(t *testing.T) {
	if got := Clip("abcdef", 4); got != "abcd…" {
		t.Errorf("Clip = %q", got)
	}
	if got := Clip("ab", 4); got != "ab" {
		t.Errorf("Clip = %q", got)
	}
}

func FuzzEscape(f *testing.F) {
	f.Add("\x1b[31mred")
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		for i := 0; i < len(e); i++ {
			if e[i] < 0x20 || e[i] == 0x7f {
				t.Fatalf("Escape(%q) = %q keeps control byte %#x", s, e, e[i])
			}
		}
		if e != s && unescape(e) != s {
			t.Fatalf("Escape(%q) = %q reads back as %q", s, e, unescape(e))
		}
	})
}

// unescape reads back what Escape wrote where it changed its input, to prove
// the escaped form stands for one string only.
func unescape(e string) string {
	var b strings.Builder
	for i := 0; i < len(e); i++ {
		if e[i] != '\\' || i+1 == len(e) {
			b.WriteByte(e[i])
			continue
		}
		switch e[i+1] {
		case '\\':
			b.WriteByte('\\')
			i++
		case 'x':
			v, _ := strconv.ParseUint(e[i+2:i+4], 16, 8)
			b.WriteByte(byte(v))
			i += 3
		case 'u', 'U':
			n := 4
			if e[i+1] == 'U' {
				n = 8
			}
			v, _ := strconv.ParseUint(e[i+2:i+2+n], 16, 32)
			b.WriteRune(rune(v))
			i += 1 + n
		}
	}
	return b.String()
}
