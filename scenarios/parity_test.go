package scenarios

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// What the best stack tools show besides the stacks: threads without Python, locals in
// definition order with their arguments marked and their reprs bounded as asked.

// compareCThreads checks the threads parked.py started without Python: each is listed
// with its tid, no thread state, no frames, blocked; its kernel name when live or
// from a core pyhang core wrote; its
// pthread_t (the ident) wherever pyhang read its registers (every mode but
// --nonblocking, where it may be 0).
func compareCThreads(t testing.TB, s *snapshot.Snapshot, want ready) int {
	t.Helper()
	byTID := map[int]*snapshot.Thread{}
	for i := range s.Threads {
		byTID[s.Threads[i].TID] = &s.Threads[i]
	}
	nonblocking := s.Target.PausedMS != nil && *s.Target.PausedMS == 0
	for _, c := range want.Expect.CThreads {
		g := byTID[c.TID]
		label := fmt.Sprintf("C thread %s (tid %d)", c.OSName, c.TID)
		if g == nil {
			t.Errorf("%s: missing from the dump", label)
			continue
		}
		if !g.NoThreadState || len(g.Frames) != 0 || g.Interpreter != nil {
			t.Errorf("%s: no_thread_state %v, %d frames, interpreter %+v; want a thread without Python", label, g.NoThreadState, len(g.Frames), g.Interpreter)
		}
		wantName := c.OSName
		if s.Target.Kind == "core" && s.Target.OSNames != snapshot.OSNamesCore {
			wantName = "" // a kernel core or gcore carries the process name at most
		}
		if g.OSName != wantName {
			t.Errorf("%s: os_name %q, want %q", label, g.OSName, wantName)
		}
		if g.Ident != c.Ident && (g.Ident != 0 || !nonblocking) {
			t.Errorf("%s: ident %#x, want the pthread_t %#x", label, g.Ident, c.Ident)
		}
	}
	n := 0
	for _, g := range s.Threads {
		if g.NoThreadState {
			n++
		}
	}
	if n != len(want.Expect.CThreads) {
		t.Errorf("%d threads without a thread state in the dump, want %d", n, len(want.Expect.CThreads))
	}
	return n
}

// localsMode is one way of asking for locals, and which of parked.py's bounded reprs
// it must give.
type localsMode struct {
	name  string
	args  []string
	which func(readyLocal) *readyBoundedRepr // nil: every repr whole
}

// localsModes are the ways TestDump asks for locals.
func localsModes(p *program) []localsMode {
	lim := p.ready.Expect.Limits["limited"]
	return []localsMode{
		{"default", []string{"--locals"}, func(l readyLocal) *readyBoundedRepr { return l.Default }},
		{"limited", []string{"--locals-depth", fmt.Sprint(lim[0]), "--locals-items", fmt.Sprint(lim[1]), "--locals-width", fmt.Sprint(lim[2])},
			func(l readyLocal) *readyBoundedRepr { return l.Limited }},
		{"full", []string{"--locals=full"}, nil},
	}
}

// lockRepr matches the reprs of _thread.lock and _thread.RLock. Python's RLock repr
// also has owner= and count=, which pyhang leaves out (it reports them on the object).
var lockRepr = regexp.MustCompile(`^<(locked|unlocked) (_thread\.R?[Ll]ock) object .*\bat (0x[0-9a-f]+)>$`)

// otherRepr matches pyhang's repr of an object it does not decode.
var otherRepr = regexp.MustCompile(`^<(\S+) object at (0x[0-9a-f]+)>$`)

// checkLocals compares locals-thread's innermost frame's locals with what parked.py
// recorded: the same names in locals() order, arguments marked, and each repr as the
// mode asks: bounded exactly as parked.py worked out (text and what was cut), or whole
// and equal to Python's repr. Reprs of objects pyhang does not decode must name the
// object's address (Python's default repr ends "at 0x…>"); lock reprs are compared by
// the locked/unlocked word, the type and the address (pyhang omits RLock's owner= and
// count=).
func checkLocals(t *testing.T, s *snapshot.Snapshot, r result, p *program, mode localsMode) {
	t.Helper()
	want := p.ready.Expect.Locals["locals-thread"].Order
	if len(want) == 0 {
		t.Fatal("ready file has no expect.locals for locals-thread")
	}
	var th *snapshot.Thread
	for i := range s.Threads {
		if s.Threads[i].Name == "locals-thread" {
			th = &s.Threads[i]
		}
	}
	if th == nil || len(th.Frames) == 0 {
		t.Fatal("no thread named locals-thread with frames in the dump")
	}
	f := th.Frames[0]
	if f.Function != "wait_with_locals" {
		t.Errorf("locals-thread innermost frame is %s, want wait_with_locals", f.Qualname)
	}
	var gotNames, wantNames []string
	for _, l := range f.LocalList {
		gotNames = append(gotNames, l.Name)
	}
	for _, l := range want {
		wantNames = append(wantNames, l.Name)
	}
	if strings.Join(gotNames, " ") != strings.Join(wantNames, " ") {
		t.Errorf("locals in order:\n  got  %v\n  want %v", gotNames, wantNames)
	}
	bounded, cut := 0, 0
	for i, w := range want {
		if i >= len(f.LocalList) || f.LocalList[i].Name != w.Name {
			continue
		}
		g := f.LocalList[i]
		if f.Locals[g.Name] != g.Repr {
			t.Errorf("local %s: locals map has %q, locals_list %q", g.Name, f.Locals[g.Name], g.Repr)
		}
		if g.Argument != w.Argument {
			t.Errorf("local %s: argument %v, want %v", g.Name, g.Argument, w.Argument)
		}
		var b *readyBoundedRepr
		if mode.which != nil {
			b = mode.which(w)
		}
		var gotCut snapshot.Cut
		if g.Cut != nil {
			gotCut = *g.Cut
			cut++
		}
		switch {
		case b != nil:
			bounded++
			if g.Repr != b.Text || gotCut != b.Cut {
				t.Errorf("local %s: repr %s (cut %+v), want %s (cut %+v)", g.Name, g.Repr, gotCut, b.Text, b.Cut)
			}
		case lockRepr.MatchString(w.Repr):
			wm, gm := lockRepr.FindStringSubmatch(w.Repr), lockRepr.FindStringSubmatch(g.Repr)
			if gm == nil || gm[1] != wm[1] || gm[2] != wm[2] || gm[3] != wm[3] {
				t.Errorf("local %s: got %s, want %s (compared: locked/unlocked, type, address)", g.Name, g.Repr, w.Repr)
			}
		case otherRepr.MatchString(g.Repr):
			if addr := otherRepr.FindStringSubmatch(g.Repr)[2]; !strings.HasSuffix(w.Repr, " at "+addr+">") {
				t.Errorf("local %s: got %s, want the object Python shows as %s", g.Name, g.Repr, w.Repr)
			}
		default:
			if g.Repr != w.Repr || g.Cut != nil {
				t.Errorf("local %s: got %s (cut %+v), want %s", g.Name, g.Repr, g.Cut, w.Repr)
			}
		}
	}
	t.Logf("%s: %d locals in order (%d bounded as parked.py worked out, %d cut), %v", t.Name(), len(want), bounded, cut, r.elapsed.Round(1e6))
}
