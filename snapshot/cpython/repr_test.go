package cpython

import "testing"

func TestStrRepr(t *testing.T) {
	for in, want := range map[string]string{
		"hello":        `'hello'`,
		"it's":         `"it's"`,
		`say "hi"`:     `'say "hi"'`,
		`both ' and "`: `'both \' and "'`,
		"tab\there\n":  `'tab\there\n'`,
		"back\\slash":  `'back\\slash'`,
		"\x00\x1f\x7f": `'\x00\x1f\x7f'`,
		"café ünï":     `'café ünï'`,
		"\u00a0":       `'\xa0'`,
		"\u200b":       `'\u200b'`,
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
