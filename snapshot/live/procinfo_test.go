package live

import "testing"

func TestParseStat(t *testing.T) {
	var in Info
	// comm may hold spaces and parentheses; the last ')' ends it.
	line := []byte("4567 (py (worker) 1) S 4500 4567 4400 34816 4567 4194304 1779 0 0 0 2 1 0 0 20 -5 3 0 186136 243208192 3377\n")
	if err := in.parseStat(line); err != nil {
		t.Fatal(err)
	}
	if in.Name != "py (worker) 1" || in.State != 'S' || in.PPID != 4500 || in.PGRP != 4567 || in.SID != 4400 || in.Nice != -5 {
		t.Errorf("parsed %+v", in)
	}
	for _, bad := range []string{"", "12 no-parens S 1", "12 (x) S 1 2"} {
		if err := (&Info{}).parseStat([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
