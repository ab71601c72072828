// Package safetext makes text read from a target safe to show: a thread
// name, a file name or a global's name comes from the target's memory or
// files and may hold terminal escape sequences, other control characters,
// invalid UTF-8 or characters that reorder what a terminal displays.
package safetext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with every byte or character that could change what a
// terminal shows in a visible form: "\x1b" for ESC, "\u202e" for a
// right-to-left override, "\u009b" for a C1 control, "\xff" for a byte
// that is not UTF-8. Printable text,
// non-ASCII letters included, is kept as it is. A string that needs any
// escape also has its backslashes doubled, so that a name holding the four
// characters `\x1b` cannot pass for one holding ESC; a string that needs
// none, a Windows path or a regular expression in a quoted source line, is
// shown as it is.
func Escape(s string) string {
	if safe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x80 && !unicode.IsControl(r):
			b.WriteByte(byte(r))
		case r < 0x80 && unicode.IsControl(r):
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r) // '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Clip escapes s and keeps the first max characters of the escaped form,
// followed by "…" when it was longer.
func Clip(s string, max int) string {
	e := Escape(s)
	n := 0
	for i := range e {
		if n == max {
			return e[:i] + "…"
		}
		n++
	}
	return e
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

// safe reports whether s needs no escaping (the common case, checked fast).
func safe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c >= 0x80 {
			if c >= 0x80 {
				return safeUTF8(s[i:])
			}
			return false
		}
	}
	return true
}

func safeUTF8(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || unicode.IsControl(r) || unsafeRune(r) {
			return false
		}
		i += size
	}
	return true
}

// unsafeRune reports characters that change a terminal's display without
// being control characters: bidirectional overrides and isolates, zero-width
// and other format characters, line and paragraph separators.
func unsafeRune(r rune) bool {
	return unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029 || unicode.IsControl(r)
}
