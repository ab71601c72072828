package locks

import (
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

const journal = `import threading

class Journal:
    def compact(self):
        self.lock.acquire()  # taken
        try:
            work()
        finally:
            self.lock.release()

    def append(self, e):
        with self.lock:
            self.entries.append(e)

def helper():
    def inner():
        pass
`

func lines() []string { return strings.Split(journal, "\n") }

func TestEnclosingDef(t *testing.T) {
	for n, want := range map[int]string{5: "Journal.compact", 7: "Journal.compact", 13: "Journal.append", 17: "inner", 1: "<module>"} {
		if _, got := enclosingDef(lines(), n); got != want {
			t.Errorf("enclosingDef(line %d) = %q, want %q", n, got, want)
		}
	}
}

func TestInsideRegion(t *testing.T) {
	src := newSourceCache()
	src.files["/j.py"] = lines()
	ob := &snapshot.Object{Names: []string{"Journal.lock", "self.lock"}}
	s := &snapshot.Snapshot{Threads: []snapshot.Thread{{Frames: []snapshot.Frame{{File: "/j.py"}}}}}
	sites := sitesOf(s, ob, src)
	if len(sites) != 2 || sites[0].Call != "acquire" || sites[0].Line != 5 || sites[1].Call != "release" || sites[1].Line != 9 {
		t.Fatalf("sites = %+v, want acquire at 5 and release at 9 (the with statement is not a bare site)", sites)
	}
	// At the release() line itself the lock is still held until the call returns.
	for line, inside := range map[int]bool{5: false, 7: true, 9: true, 13: false} {
		f := &snapshot.Frame{File: "/j.py", Line: line}
		h, ok := insideRegion(f, sites, src)
		if ok != inside {
			t.Errorf("line %d: inside = %v, want %v (%+v)", line, ok, inside, h)
		}
		if ok && !strings.Contains(h.Evidence, "acquire() at j.py:5") || ok && !strings.Contains(h.Evidence, "release() at :9") {
			t.Errorf("line %d: evidence %q", line, h.Evidence)
		}
	}
}

func TestContainsWord(t *testing.T) {
	for s, want := range map[string]bool{"with ledger:": true, "with ledger_lock:": false, "with self.ledger, other:": true, "with aledger:": false} {
		if got := containsWord(s, "ledger"); got != want {
			t.Errorf("containsWord(%q) = %v", s, got)
		}
	}
}

func TestBestName(t *testing.T) {
	ob := &snapshot.Object{Names: []string{"self.file_lock", "file_lock", "ReadersWriters.file_lock"}}
	if got := bestName(ob); got != "ReadersWriters.file_lock" {
		t.Errorf("bestName = %q", got)
	}
	if got := bestName(&snapshot.Object{Names: []string{"self.x", "lock"}}); got != "lock" {
		t.Errorf("bestName = %q, want the local/global name over self.x", got)
	}
}
