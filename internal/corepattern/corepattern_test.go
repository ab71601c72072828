package corepattern

import "testing"

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		pattern string
		usesPID bool
		want    string
	}{
		{"core", false, "core"},
		{"core", true, "core.42"},
		{"core.%p", true, "core.42"},
		{"/var/crash/core.%e.%p.%t", false, "/var/crash/core.*.42.*"},
		{"core%%%p", false, "core%42"},
		{"core%", false, "core%"},
	} {
		if got := Glob(c.pattern, 42, c.usesPID); got != c.want {
			t.Errorf("Glob(%q, 42, %v) = %q, want %q", c.pattern, c.usesPID, got, c.want)
		}
	}
}
