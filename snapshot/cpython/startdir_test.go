package cpython

import "testing"

func TestStartDirOf(t *testing.T) {
	for _, c := range []struct {
		script, path0, want string
		ok                  bool
	}{
		{"prog.py", "/srv/app", "/srv/app", true},
		{"bin/prog.py", "/srv/app/bin", "/srv/app", true},
		{"a/b/prog.py", "/srv/a/b", "/srv", true},
		{"bin/prog.py", "/bin", "/", true},
		{"bin/prog.py", "/srv/real", "", false}, // a symbolic link resolved: no match
		{"bin/prog.py", "/srv/xbin", "", false}, // a suffix, not a directory
		{"../prog.py", "/srv", "", false},       // above the start: not derivable
	} {
		got, ok := startDirOf(c.script, c.path0)
		if got != c.want || ok != c.ok {
			t.Errorf("startDirOf(%q, %q) = %q, %v; want %q, %v", c.script, c.path0, got, ok, c.want, c.ok)
		}
	}
}
