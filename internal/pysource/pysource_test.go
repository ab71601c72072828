package pysource

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

const journal = `import threading

class Journal:
    def compact(self):
        self.lock.acquire()  # taken; self.lock.release() is only a comment
        try:
            work("# not a comment", self.lock)
        finally:
            self.lock.release()

    async def append(self, e):
        with self.lock, \
                other:
            self.entries.append(e)

def helper():
    s = """
    self.lock.acquire()   <- inside a string
    """
    def inner():
        pass
    x = f"{d["k"]} {'#'} self.lock.release()"
    return (lock.
            acquire(
            ))
`

func TestFunction(t *testing.T) {
	f := Parse(journal)
	for n, want := range map[int]string{
		1: "<module>", 3: "Journal", 5: "Journal.compact", 7: "Journal.compact", 9: "Journal.compact",
		13: "Journal.append", 14: "Journal.append", 17: "helper", 21: "helper.<locals>.inner", 22: "helper", 24: "helper",
	} {
		if _, got := f.Function(n); got != want {
			t.Errorf("Function(line %d) = %q, want %q", n, got, want)
		}
	}
}

func TestCalls(t *testing.T) {
	f := Parse(journal)
	var got []string
	for _, c := range f.Calls("acquire", "release") {
		got = append(got, strings.Join([]string{c.Receiver, c.Method}, "."))
		if c.Receiver == "lock" && c.Line != 24 {
			t.Errorf("lock.acquire at line %d, want 24 (the method name's line)", c.Line)
		}
	}
	want := []string{"self.lock.acquire", "self.lock.release", "lock.acquire"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %v, want %v (nothing from comments or strings)", got, want)
	}
}

// TestCallsInLambda: a call after a lambda in its logical line is the
// lambda's.
func TestCallsInLambda(t *testing.T) {
	f := Parse("def submit(job):\n" +
		"    sem.acquire()\n" +
		"    fut = pool.submit(job)\n" +
		"    fut.add_done_callback(lambda f: sem.release())\n" +
		"    sem.release()\n")
	var got []bool
	for _, c := range f.Calls("acquire", "release") {
		got = append(got, c.Lambda)
	}
	if want := []bool{false, true, false}; !reflect.DeepEqual(got, want) {
		t.Errorf("Lambda of the calls = %v, want %v", got, want)
	}
}

func TestEnclosingWith(t *testing.T) {
	f := Parse(journal)
	ws := f.EnclosingWith(14)
	if len(ws) != 1 || ws[0].Line != 12 || !ws[0].Mentions("lock") || !ws[0].Mentions("other") {
		t.Errorf("EnclosingWith(14) = %+v, want the with at 12 naming lock and other", ws)
	}
	if ws := f.EnclosingWith(7); len(ws) != 0 {
		t.Errorf("EnclosingWith(7) = %+v, want none", ws)
	}
}

func TestEnclosingWhile(t *testing.T) {
	src := "def f(a, b):\n" + // 1
		"    with a:\n" + // 2
		"        while not b.acquire(timeout=1):\n" + // 3
		"            pass\n" + // 4
		"        while True:\n" + // 5
		"            if b.acquire(timeout=1):\n" + // 6
		"                break\n" + // 7
		"        for i in range(3):\n" + // 8
		"            b.acquire(timeout=1)\n" + // 9
		"    def g():\n" + // 10
		"        b.acquire()\n" // 11
	f := Parse(src)
	for line, want := range map[int]int{3: 3, 4: 3, 6: 5, 7: 5, 9: 0, 2: 0, 11: 0, 99: 0} {
		if got := f.EnclosingWhile(line); got != want {
			t.Errorf("EnclosingWhile(%d) = %d, want %d", line, got, want)
		}
	}
}

func TestLogicalLines(t *testing.T) {
	f := Parse("a = (1,\n  2)\n\n   # c\nb = '''x\ny'''\nc = 'it''s' # x\n")
	var spans [][2]int
	for _, l := range f.Lines {
		spans = append(spans, [2]int{l.Start, l.End})
	}
	if want := [][2]int{{1, 2}, {5, 6}, {7, 7}}; !reflect.DeepEqual(spans, want) {
		t.Errorf("logical lines %v, want %v", spans, want)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(journal)
	f.Add("f'{'")
	f.Add("'''")
	f.Add("def f(:\n\tclass\n")
	f.Fuzz(func(t *testing.T, src string) {
		p := Parse(src)
		for n := -1; n < 50; n++ {
			p.Function(n)
			p.EnclosingWith(n)
			p.SleepLoop(n)
		}
		p.Calls("acquire")
	})
}

func TestSleepLoop(t *testing.T) {
	src := "import time\n" + // 1
		"while True:\n" + // 2
		"    time.sleep(60)  # idle\n" + // 3
		"while 1: sleep(0.5); pass\n" + // 4
		"def f(stop):\n" + // 5
		"    while True:\n" + // 6
		"        time.sleep(1)\n" + // 7
		"        if stop:\n" + // 8
		"            break\n" + // 9
		"    while not stop:\n" + // 10
		"        time.sleep(1)\n" + // 11
		"    while True:\n" + // 12
		"        time.sleep(interval())\n" + // 13
		"    while True:\n" + // 14
		"        signal.pause()\n" + // 15
		"        ...\n" + // 16
		"    while True:\n" + // 17
		"        time.sleep(self.period * 2)\n" + // 18
		"        continue\n" + // 19
		"    while True:\n" + // 20
		"        pass\n" + // 21
		"        time.sleep(1); q.put(1)\n" // 22
	f := Parse(src)
	for line, want := range map[int]int{3: 2, 4: 4, 7: 0, 11: 0, 13: 0, 15: 14, 16: 0, 18: 17, 21: 0, 22: 0, 2: 0, 99: 0} {
		if got := f.SleepLoop(line); got != want {
			t.Errorf("SleepLoop(%d) = %d, want %d", line, got, want)
		}
	}
}

func TestInBlock(t *testing.T) {
	src := "import time\n" + // 1
		"try:\n" + // 2
		"    while True:\n" + // 3
		"        time.sleep(1)\n" + // 4
		"finally:\n" + // 5
		"    stop.set()\n" + // 6
		"def f():\n" + // 7
		"    with pool:\n" + // 8
		"        time.sleep(1)\n" + // 9
		"    time.sleep(2)\n" + // 10
		"while True:\n" + // 11
		"    time.sleep(3)\n" // 12
	f := Parse(src)
	for line, want := range map[int]bool{4: true, 3: true, 2: false, 6: false, 9: true, 10: false, 12: false} {
		if got := f.InBlock(line, "try", "with"); got != want {
			t.Errorf("InBlock(%d) = %v, want %v", line, got, want)
		}
	}
}

// TestCallArgs: a call's arguments, as a callback passed to it is named.
func TestCallArgs(t *testing.T) {
	f := Parse(`signal.signal(signal.SIGALRM, on_alarm)
signal.signal(signal.SIGHUP, lambda *_: reload.set())
loop.add_signal_handler(signal.SIGTERM, self.stop, f(x, y), "s")
signal.signal(
    signal.SIGUSR1,
    handlers[0],
)
`)
	want := [][]string{
		{"signal.SIGALRM", "on_alarm"},
		{"signal.SIGHUP", "lambda"},
		{"signal.SIGTERM", "self.stop", "", ""},
		{"signal.SIGUSR1", ""},
	}
	calls := f.Calls("signal", "add_signal_handler")
	if len(calls) != len(want) {
		t.Fatalf("%d calls, want %d: %+v", len(calls), len(want), calls)
	}
	for i, c := range calls {
		if !slices.Equal(c.Args, want[i]) {
			t.Errorf("call at line %d: args %q, want %q", c.Line, c.Args, want[i])
		}
	}
}
