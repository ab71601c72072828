package capture

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/pysource"
	"github.com/pyhang/pyhang/snapshot/cpython"
)

const desk = `import threading


class Desk:
    @staticmethod
    @property
    def hours():
        return 9

    def serve(self):
        f = lambda: self.open.wait()
        f()  # waits


def main():
    Desk().serve()


main()
`

// TestMisfit: a file fits the frames when each frame's line holds a
// statement of the frame's function, which starts where its code does or
// at a decorator above it.
func TestMisfit(t *testing.T) {
	f := pysource.Parse(desk)
	for _, c := range []struct {
		code []codeAt
		want string // "" for a fit, else a part of the reason
	}{
		{[]codeAt{{line: 12, first: 10, function: "serve"}, {line: 16, first: 15, function: "main"}, {line: 19, function: "<module>"}}, ""},
		{[]codeAt{{line: 11, first: 11, function: "<lambda>"}}, ""},
		{[]codeAt{{line: 8, first: 5, function: "hours"}}, ""},        // co_firstlineno at the first decorator
		{[]codeAt{{line: 8, first: 7, function: "hours"}}, ""},        // or at the def
		{[]codeAt{{line: 8, first: 6, function: "hours"}}, ""},        // a decorator between
		{[]codeAt{{line: 12, first: 9, function: "serve"}}, "starts"}, // the blank line above
		{[]codeAt{{line: 13, first: 10, function: "serve"}}, "no statement"},
		{[]codeAt{{line: 12, first: 10, function: "wait"}}, "in Desk.serve there, not in wait"},
		{[]codeAt{{line: 16, function: "<module>"}}, "not at module level"},
		{[]codeAt{{line: 19, first: 15, function: "main"}}, "at module level there, not in main"},
		{[]codeAt{{line: 40, function: "<module>"}}, "no statement"},
	} {
		got := misfit(f, c.code)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("misfit(%+v) = %q, want %q", c.code, got, c.want)
		}
	}
}

// TestReadRelative: a relative path is read by the working directory and
// the sys.path leads; the file quoted is the one that fits the running
// code, with a note unless the working directory and sys.path[0] agree on
// it; files that differ and both fit, or none that fits, quote nothing.
func TestReadRelative(t *testing.T) {
	code := map[string][]codeAt{"prog.py": {{line: 12, first: 10, function: "serve"}}}
	decoy := strings.Repeat("# decoy\n", 20)
	moved := strings.Replace(desk, "f()  # waits", "f()  # waits, elsewhere", 1) // fits too
	dirs := func(t *testing.T, texts ...string) []string {
		var out []string
		for _, text := range texts {
			d := t.TempDir()
			if text != "" {
				if err := os.WriteFile(filepath.Join(d, "prog.py"), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out = append(out, d)
		}
		return out
	}
	// view: the working directory d[0] ("" for a core), sys.path[i] d[i+1].
	view := func(d []string) *fileView {
		v := &fileView{root: "/", cwd: d[0], code: code, desc: "test"}
		for i, s := range d[1:] {
			v.starts = append(v.starts, cpython.StartDir{Dir: s, Index: i})
		}
		return v
	}
	for _, c := range []struct {
		name  string
		texts []string // working directory, sys.path[0], sys.path[1]…; "" for no file
		core  bool
		note  string // a part of the note, "-" for none
		err   string // a part of the error, "" for none
	}{
		{name: "agree", texts: []string{desk, desk}, note: "-"},
		{name: "decoy-first", texts: []string{desk, decoy, desk}, note: "by sys.path[0] it is"},
		{name: "decoy-core", texts: []string{"", decoy, desk}, core: true, note: "found by sys.path[1] (a core records no working directory)"},
		{name: "moved-away", texts: []string{"", desk}, note: "by the working directory it is"},
		{name: "only-cwd", texts: []string{desk, ""}, note: "found by the working directory;"},
		{name: "both-fit", texts: []string{desk, moved}, err: "differ, and the lines of both fit"},
		{name: "both-fit-agreed", texts: []string{desk, desk, moved}, note: "by sys.path[1] it is"},
		{name: "only-decoy", texts: []string{"", decoy}, core: true, err: "does not match the running code (line 12 holds no statement there)"},
		{name: "none", texts: []string{"", ""}, err: "by the working directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := dirs(t, c.texts...)
			if c.core {
				d[0] = ""
			}
			text, parsed, note, err := view(d).readRelative("prog.py")
			switch {
			case c.err != "":
				if err == nil || !strings.Contains(err.Error(), c.err) || text != "" || parsed != nil {
					t.Fatalf("got %q, %v; want no text and an error with %q", note, err, c.err)
				}
			case err != nil:
				t.Fatalf("error %v", err)
			case text != desk || parsed == nil:
				t.Fatalf("quoted %.40q, want the program's own file", text)
			case c.note == "-" && note != "", c.note != "-" && !strings.Contains(note, c.note):
				t.Fatalf("note %q, want %q", note, c.note)
			}
			t.Logf("%q %v", note, err)
		})
	}
}
