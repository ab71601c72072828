package scenarios

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// compareThreads checks the dump against the ready file thread by thread (matched by
// ident) and frame by frame, and returns how many frames matched. With cutOK a thread's
// stack may end early (the core lacks memory the outer frames need), but what is there
// must be the innermost frames, in order. qualname is compared on every version: before
// 3.11 there is no co_qualname and both the harness and pyhang give co_name.
func compareThreads(t testing.TB, got *snapshot.Snapshot, want ready, cutOK bool) (matched, cut int) {
	t.Helper()
	byIdent := map[uint64]*snapshot.Thread{}
	for i := range got.Threads {
		th := &got.Threads[i]
		if byIdent[th.Ident] != nil {
			t.Errorf("ident %#x appears twice in the dump (tids %d and %d)", th.Ident, byIdent[th.Ident].TID, th.TID)
		}
		byIdent[th.Ident] = th
	}
	seen := map[uint64]bool{}
	for _, w := range want.Threads {
		seen[w.Ident] = true
		label := fmt.Sprintf("thread %s (ident %#x)", strOr(w.Name, "?"), w.Ident)
		g := byIdent[w.Ident]
		if g == nil {
			t.Errorf("%s: missing from the dump", label)
			continue
		}
		if w.NativeID != nil && g.TID != *w.NativeID {
			t.Errorf("%s: tid %d, want native_id %d", label, g.TID, *w.NativeID)
		}
		if w.Name != nil && g.Name != *w.Name {
			t.Errorf("%s: name %q, want %q", label, g.Name, *w.Name)
		}
		if g.Main != w.Main {
			t.Errorf("%s: main %v, want %v", label, g.Main, w.Main)
		}
		wf := w.Frames
		if cutOK && len(g.Frames) > 0 && len(g.Frames) < len(wf) {
			t.Logf("%s: %d of %d frames (cut short)", label, len(g.Frames), len(wf))
			wf = wf[:len(g.Frames)]
			cut++
		}
		if d := frameDiff(g.Frames, wf); d != "" {
			t.Errorf("%s: frames differ (got | want, innermost first):\n%s", label, d)
			continue
		}
		matched += len(wf)
	}
	for _, g := range got.Threads {
		if !seen[g.Ident] && g.Ident != want.WatcherIdent {
			t.Errorf("thread tid %d %q (ident %#x) in the dump but not in the ready file", g.TID, g.Name, g.Ident)
		}
		if g.Ident == want.WatcherIdent && want.WatcherIdent != 0 {
			t.Errorf("the ready watcher (ident %#x, tid %d) is in the dump but had exited", g.Ident, g.TID)
		}
	}
	return matched, cut
}

// frameDiff is "" when the frames agree on function, qualname, file and line, else the
// differing rows (and a few around them) side by side.
func frameDiff(got []snapshot.Frame, want []readyFrame) string {
	n := max(len(got), len(want))
	var rows []string
	bad := map[int]bool{}
	for i := range n {
		var g, w string
		if i < len(got) {
			f := got[i]
			g = fmt.Sprintf("%s [%s] %s:%d", f.Function, f.Qualname, f.File, f.Line)
		}
		if i < len(want) {
			f := want[i]
			w = fmt.Sprintf("%s [%s] %s:%d", f.Function, f.Qualname, f.File, f.Line)
		}
		rows = append(rows, fmt.Sprintf("  %3d %s | %s", i, g, w))
		if g != w {
			bad[i] = true
		}
	}
	if len(bad) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  (%d frames, want %d)\n", len(got), len(want))
	shown := 0
	for i, r := range rows {
		near := bad[i] || bad[i-1] || bad[i+1]
		if near && shown < 40 {
			b.WriteString(r + "\n")
			shown++
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// stateFor is the thread state the dump must report for each way parked.py blocks.
var stateFor = map[string]string{
	"lock": snapshot.StateBlocked, "event": snapshot.StateBlocked, "queue": snapshot.StateBlocked,
	"condition": snapshot.StateBlocked, "join": snapshot.StateBlocked, "main": snapshot.StateBlocked,
	"recv": snapshot.StateIO, "select": snapshot.StateIO,
	"sleep": snapshot.StateSleeping, "locals": snapshot.StateSleeping,
}

// checkStates checks each thread's state against the way parked.py made it block;
// a blocked thread must name its futex.
func checkStates(t testing.TB, got *snapshot.Snapshot, want ready) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, g := range got.Threads {
		counts[g.State]++
		way := want.Expect.Blocking[g.Name]
		if g.Main {
			way = "main"
		}
		state, ok := stateFor[way]
		if !ok {
			t.Errorf("thread %d %q: ready file gives no known way of blocking (%q)", g.TID, g.Name, way)
			continue
		}
		if g.State != state {
			t.Errorf("thread %d %q blocks by %s: state %q, want %q (kernel %+v)", g.TID, g.Name, way, g.State, state, g.Kernel)
		}
		if state == snapshot.StateBlocked && (g.Kernel == nil || g.Kernel.Futex == 0) {
			t.Errorf("thread %d %q blocks by %s: no kernel.futex (kernel %+v)", g.TID, g.Name, way, g.Kernel)
		}
	}
	return counts
}

// lockRepr matches the reprs of _thread.lock and _thread.RLock. Python's RLock repr
// also has owner= and count=, which pyhang leaves out (it reports them on the object).
var lockRepr = regexp.MustCompile(`^<(locked|unlocked) (_thread\.R?[Ll]ock) object .*\bat (0x[0-9a-f]+)>$`)

// truncated matches pyhang's bound on long containers: the first items, then "…(N items)".
var truncated = regexp.MustCompile(`^(.*), …\((\d+) items\)([\])}])$`)

// compareLocals checks pyhang's reprs of locals against Python's own repr() of them.
// Differences that are intended: lock reprs are compared by the locked/unlocked word,
// the type and the address (pyhang omits RLock's owner= and count=); a container longer
// than pyhang's bound shows its first items and "…(N items)", which must be a prefix of
// Python's repr with N its length. Everything else must be equal byte for byte.
func compareLocals(t testing.TB, got, want map[string]string) {
	t.Helper()
	var names []string
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w := want[name]
		g, ok := got[name]
		if !ok {
			t.Errorf("local %s: missing (want %s)", name, w)
			continue
		}
		if wm := lockRepr.FindStringSubmatch(w); wm != nil {
			gm := lockRepr.FindStringSubmatch(g)
			if gm == nil || gm[1] != wm[1] || gm[2] != wm[2] || gm[3] != wm[3] {
				t.Errorf("local %s: got %s, want %s (compared: locked/unlocked, type, address)", name, g, w)
			}
			continue
		}
		if m := truncated.FindStringSubmatch(g); m != nil {
			n, _ := strconv.Atoi(m[2])
			if !strings.HasPrefix(w, m[1]+", ") || !strings.HasSuffix(w, m[3]) || n != topLevelItems(w) {
				t.Errorf("local %s: got %s, want a bounded form of %s", name, g, w)
			}
			continue
		}
		if g != w {
			t.Errorf("local %s: got %s, want %s", name, g, w)
		}
	}
	for name, g := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("local %s = %s: not a local of the frame", name, g)
		}
	}
}

// topLevelItems counts the items of a list/tuple/dict repr: commas outside nested brackets
// and quotes, plus one. Enough for the reprs parked.py makes.
func topLevelItems(repr string) int {
	if len(repr) <= 2 {
		return 0
	}
	depth, n := 0, 1
	var quote byte
	for i := 1; i < len(repr)-1; i++ {
		c := repr[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			n++
		}
	}
	return n
}

func strOr(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}
