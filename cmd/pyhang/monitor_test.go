package main

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pyhang/pyhang/snapshot/cpython"
)

// check gives an interpreter that cannot be read yet (still starting) more
// looks, and gives up on a process that is not Python at once.
func TestMonitorCheck(t *testing.T) {
	var out bytes.Buffer
	calls := 0
	fail := errors.New("defines _PyRuntime but its version could not be read")
	m := &monitor{o: monitorOptions{out: &out, what: "pyhang run"}, procs: map[int]*watched{}}
	m.looker = func(pid int, python bool) (*looker, error) {
		if !python {
			return &looker{pid: pid}, nil
		}
		calls++
		if calls < 3 {
			return nil, fail
		}
		return &looker{pid: pid}, nil
	}
	w := &watched{pid: 42, since: time.Now()}
	m.check(w)
	if w.checked || w.python || w.looker == nil {
		t.Fatalf("after a failed first look: checked %v python %v looker %v, want to try again meanwhile watching the CPU", w.checked, w.python, w.looker)
	}
	m.check(w)
	m.check(w)
	if !w.checked || !w.python || calls != 3 {
		t.Errorf("after the interpreter came up: checked %v python %v after %d tries", w.checked, w.python, calls)
	}
	if out.Len() != 0 {
		t.Errorf("said %q while still trying", out.String())
	}

	// Given up after checkFor, saying why.
	w = &watched{pid: 43, since: time.Now().Add(-checkFor)}
	calls = -100
	m.check(w)
	if !w.checked || w.python || !bytes.Contains(out.Bytes(), []byte("watching its CPU use only")) {
		t.Errorf("a process whose interpreter never came up: checked %v python %v, said %q", w.checked, w.python, out.String())
	}

	// Not Python: final at once, without a word.
	out.Reset()
	m.looker = func(pid int, python bool) (*looker, error) {
		if python {
			return nil, &cpython.NotPythonError{Target: "pid 44", Reason: "no _PyRuntime"}
		}
		return &looker{pid: pid}, nil
	}
	w = &watched{pid: 44, since: time.Now()}
	m.check(w)
	if !w.checked || w.python || w.looker == nil || out.Len() != 0 {
		t.Errorf("not Python: checked %v python %v looker %v, said %q", w.checked, w.python, w.looker, out.String())
	}

	// The process pyhang watch was given runs no Python: said, once.
	m.o.watchedPID = 44
	w = &watched{pid: 44, since: time.Now()}
	m.check(w)
	if !w.checked || !bytes.Contains(out.Bytes(), []byte("process 44 runs no Python (no _PyRuntime)")) {
		t.Errorf("the watched process is not Python: checked %v, said %q", w.checked, out.String())
	}
}
