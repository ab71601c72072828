package locks

import (
	"errors"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

const journal = `import threading

class Journal:
    def compact(self):
        self.lock.acquire()  # taken; self.lock.release() here is a comment
        try:
            work("self.lock.release()")
        finally:
            self.lock.release()

    def append(self, e):
        with self.lock:
            self.entries.append(e)
`

// files is a fake view of the target's files.
type files map[string]string

func (f files) Text(path string) (string, error) {
	if t, ok := f[path]; ok {
		return t, nil
	}
	return "", errors.New("no such file")
}

func TestInsideRegion(t *testing.T) {
	src := newSourceCache(files{"/j.py": journal})
	ob := &snapshot.Object{Names: []string{"Journal.lock", "self.lock"}}
	s := &snapshot.Snapshot{Threads: []snapshot.Thread{{Frames: []snapshot.Frame{{File: "/j.py"}}}}}
	sites := sitesOf(s, ob, src)
	if len(sites) != 2 || sites[0].Call != "acquire" || sites[0].Line != 5 || sites[1].Call != "release" || sites[1].Line != 9 {
		t.Fatalf("sites = %+v, want acquire at 5 and release at 9 (not the with statement, the comment or the string)", sites)
	}
	if sites[0].Function != "Journal.compact" {
		t.Errorf("acquire() site in %q, want Journal.compact", sites[0].Function)
	}
	// At the release() line itself the lock is still held until the call returns.
	for line, inside := range map[int]bool{5: false, 7: true, 9: true, 13: false} {
		f := &snapshot.Frame{File: "/j.py", Line: line}
		h, ok := insideRegion(f, sites, src, "")
		if ok != inside {
			t.Errorf("line %d: inside = %v, want %v (%+v)", line, ok, inside, h)
		}
		if !ok {
			continue
		}
		ev := h.Evidence[0]
		if ev.Basis != BasisBareAcquire || ev.At.Line != 5 || ev.Release == nil || ev.Release.Line != 9 || ev.Line != line {
			t.Errorf("line %d: evidence %+v", line, ev)
		}
	}
}

func TestSourceOutsideTheView(t *testing.T) {
	src := newSourceCache(files{})
	ob := &snapshot.Object{Names: []string{"lock"}}
	s := &snapshot.Snapshot{Threads: []snapshot.Thread{{Frames: []snapshot.Frame{{File: "/j.py"}}}}}
	if sites := sitesOf(s, ob, src); len(sites) != 0 {
		t.Errorf("sites from a file the target's view lacks: %+v", sites)
	}
}

func TestIsStdlib(t *testing.T) {
	for p, want := range map[string]bool{
		"/usr/lib/python3.11/threading.py":                     true,
		"/root/.pyenv/versions/3.12.1/lib/python3.12/queue.py": true,
		"/usr/lib/python3/dist-packages/requests/api.py":       false,
		"/usr/lib/python3.11/dist-packages/x.py":               false,
		"/opt/venv/lib/python3.12/site-packages/urllib3/a.py":  false,
		"/app/lib/python3.12_tools/x.py":                       false,
	} {
		if got := isStdlib(p); got != want {
			t.Errorf("isStdlib(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestBestName(t *testing.T) {
	ob := &snapshot.Object{Names: []string{"self.file_lock", "file_lock", "ReadersWriters.file_lock"}}
	if got := BestName(ob); got != "ReadersWriters.file_lock" {
		t.Errorf("BestName = %q", got)
	}
	if got := BestName(&snapshot.Object{Names: []string{"self.x", "lock"}}); got != "lock" {
		t.Errorf("BestName = %q, want the local/global name over self.x", got)
	}
	if got := BestName(&snapshot.Object{Names: []string{"first", "ledger"}, Global: "ledger"}); got != "ledger" {
		t.Errorf("BestName = %q, want the module global over a parameter", got)
	}
}

// TestPairedReleases: a semaphore's units come back only from their takers
// when every release() follows an acquire() in its own function.
func TestPairedReleases(t *testing.T) {
	acq := func(line, def int) Site { return Site{File: "/p.py", Line: line, Call: "acquire", def: def} }
	rel := func(line, def int) Site { return Site{File: "/p.py", Line: line, Call: "release", def: def} }
	for _, tc := range []struct {
		name  string
		sites []Site
		want  bool
	}{
		{"after an acquire in the same function", []Site{acq(4, 3), rel(7, 3)}, true},
		{"two functions, each paired", []Site{acq(4, 3), rel(7, 3), acq(11, 10), rel(12, 10)}, true},
		{"a release alone: a producer's signal", []Site{acq(4, 3), rel(7, 3), rel(15, 14)}, false},
		{"a release before the acquire", []Site{rel(4, 3), acq(7, 3)}, false},
		{"through wrappers, called in order", []Site{
			{File: "/p.py", Line: 4, Call: "release", Function: "Pool.give", def: 3, inWrapper: true},
			{File: "/p.py", Line: 11, Call: "acquire", Via: "take", def: 10},
			{File: "/p.py", Line: 13, Call: "release", Via: "give", def: 10}}, true},
		{"a release wrapper called on its own", []Site{
			{File: "/p.py", Line: 4, Call: "release", Function: "Pool.give", def: 3, inWrapper: true},
			{File: "/p.py", Line: 13, Call: "release", Via: "give", def: 10}}, false},
		{"no release at all", []Site{acq(4, 3)}, false},
		{"in a callback's lambda", []Site{acq(4, 3), {File: "/p.py", Line: 6, Call: "release", def: 3, lambda: true}}, false},
	} {
		if _, ok := PairedReleases(tc.sites); ok != tc.want {
			t.Errorf("%s: PairedReleases says %v, want %v", tc.name, ok, tc.want)
		}
	}
}

// crossed is a helper run as take(a, b) and as take(b, a).
const crossed = `async def take(first, second):
    await first.acquire()
    try:
        await second.acquire()
        second.release()
    finally:
        first.release()
`

// TestInsideRegionByLocals: a frame stands inside the region of the lock
// its own locals name at the acquire(); the same line in the crossed call
// takes the other lock there.
func TestInsideRegionByLocals(t *testing.T) {
	src := newSourceCache(files{"/t.py": crossed})
	ob := &snapshot.Object{ID: "lock@a", Names: []string{"first", "second"}}
	s := &snapshot.Snapshot{Threads: []snapshot.Thread{{Frames: []snapshot.Frame{{File: "/t.py"}}}}}
	sites := sitesOf(s, ob, src)
	if len(sites) != 4 {
		t.Fatalf("sites = %+v, want two acquire() and two release() calls", sites)
	}
	holds := &snapshot.Frame{File: "/t.py", Line: 4, Refs: map[string]string{"first": "lock@a", "second": "lock@b"}}
	h, ok := insideRegion(holds, sites, src, ob.ID)
	if !ok || h.Evidence[0].At.Line != 2 || h.Evidence[0].Release == nil || h.Evidence[0].Release.Line != 7 {
		t.Errorf("the frame whose first is the lock: inside %v, %+v; want the region from line 2 to 7", ok, h)
	}
	waits := &snapshot.Frame{File: "/t.py", Line: 4, Refs: map[string]string{"first": "lock@b", "second": "lock@a"}}
	if h, ok := insideRegion(waits, sites, src, ob.ID); ok {
		t.Errorf("the frame that waits for the lock at line 4, its first another lock, holds it: %+v", h)
	}
}
