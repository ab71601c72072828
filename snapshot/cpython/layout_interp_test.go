package cpython

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// codeIntFields are the int fields of PyCodeObject the layout table names,
// with the Python attribute that shows each one's value.
var codeIntFields = []struct {
	field string
	attr  string
	off   func(*Layout) int64
}{
	{"CoFirstlineno", "co_firstlineno", func(l *Layout) int64 { return l.CoFirstlineno }},
	{"CoStacksize", "co_stacksize", func(l *Layout) int64 { return l.CoStacksize }},
	{"CoNlocals", "co_nlocals", func(l *Layout) int64 { return l.CoNlocals }},
}

// TestCodeFieldsAgainstInterpreters reads the int fields of a code object at
// the table's offsets from inside every interpreter (ctypes on id(code)) and
// compares them with the attributes: the check for the builds without DWARF
// (Debian's), whose tables TestLayoutDWARF cannot see.
func TestCodeFieldsAgainstInterpreters(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			l, err := LayoutFor(in.Minor)
			if err != nil {
				t.Fatal(err)
			}
			// A function with distinct values: 3 locals, a deep value stack.
			src := []string{
				"import ctypes",
				"def f(a, b):",
				"    c = [a, [b, [a, [b, (a, b, a)]]]]",
				"    return c",
				"co = f.__code__",
			}
			var checked []string
			for _, fd := range codeIntFields {
				off := fd.off(l)
				if off < 0 {
					continue
				}
				src = append(src, fmt.Sprintf("print(%q, ctypes.c_int.from_address(id(co) + %d).value, co.%s)", fd.field, off, fd.attr))
				checked = append(checked, fd.field)
			}
			checkFieldLines(t, in, strings.Join(src, "\n"),
				"Layout.%s: the int at the table's offset is %d, the code object's attribute %d")
			t.Logf("%s: %s agree with the interpreter", in.Name, strings.Join(checked, ", "))
		})
	}
}
