package live

import (
	"os/exec"
	"testing"
	"time"
)

// TestRunsIdle: a process that sleeps is idle between two looks; one that
// wakes every millisecond, though asleep at nearly every instant, is not;
// one that computes is not either.
func TestRunsIdle(t *testing.T) {
	py := findPython(t)
	for _, c := range []struct {
		name, code string
		idle       bool
	}{
		{"asleep", "import time\ntime.sleep(60)", true},
		{"waking", "import time\nwhile True: time.sleep(0.001)", false},
		{"computing", "while True: pass", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(py, "-c", c.code)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			time.Sleep(300 * time.Millisecond) // past the interpreter's start
			for i := range 5 {
				m, err := MarkRuns(cmd.Process.Pid)
				if err != nil {
					t.Fatalf("MarkRuns: %v", err)
				}
				time.Sleep(20 * time.Millisecond) // about a snapshot's read
				idle, why := m.Idle()
				if idle != c.idle {
					t.Fatalf("look %d: Idle() = %v (%s), want %v", i, idle, why, c.idle)
				}
			}
		})
	}
	if _, err := MarkRuns(1 << 30); err == nil {
		t.Errorf("MarkRuns of no process: no error")
	}
}

func TestParseSchedstat(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"123 456 7\n", true},
		{"0 0 0\n", false}, // no scheduler statistics
		{"1 2\n", false},
		{"a b c\n", false},
	} {
		if _, ok := parseSchedstat([]byte(c.in)); ok != c.ok {
			t.Errorf("parseSchedstat(%q) ok = %v, want %v", c.in, ok, c.ok)
		}
	}
}
