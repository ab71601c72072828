package waitgraph

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// Labels carry names read from the target (thread names, globals, file
// names): hostile text. Each piece is cut to a bounded length and stripped of
// control characters and invalid UTF-8 so that the DOT stays valid and the
// picture readable.
const (
	maxName     = 48
	maxEvidence = 64
)

// clean makes target text safe and short for a label line.
func clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if n == max {
			b.WriteString("…")
			break
		}
		if (r == utf8.RuneError && size <= 1) || unicode.IsControl(r) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// frameLine is "settle at h.py:17".
func frameLine(f *snapshot.Frame) string {
	fn := f.Function
	if fn == "" {
		fn = "?"
	}
	return fmt.Sprintf("%s at %s:%d", clean(fn, maxName), clean(filepath.Base(f.File), maxName), f.Line)
}

// threadLabel is "posting (tid 4355)\nsettle at h.py:17", plus the frame that
// waits when it is not the innermost one (a Condition.wait called from
// queue.get called from the worker).
func threadLabel(tid int, t *snapshot.Thread, waitFrame map[int]int) string {
	if t == nil {
		return fmt.Sprintf("tid %d\n(not in snapshot)", tid)
	}
	name := t.Name
	if name == "" {
		name = "thread"
		if t.Main {
			name = "MainThread"
		}
	}
	lines := []string{fmt.Sprintf("%s (tid %d)", clean(name, maxName), tid)}
	if len(t.Frames) > 0 {
		lines = append(lines, frameLine(&t.Frames[0]))
	}
	if i, ok := waitFrame[tid]; ok && i > 0 && i < len(t.Frames) {
		lines = append(lines, "from "+frameLine(&t.Frames[i]))
	}
	return strings.Join(lines, "\n")
}

// kindNames spells resource kinds the way Python code does.
var kindNames = map[string]string{
	snapshot.KindLock:        "Lock",
	snapshot.KindRLock:       "RLock",
	snapshot.KindCondition:   "Condition",
	snapshot.KindQueue:       "Queue",
	snapshot.KindSimpleQueue: "SimpleQueue",
	snapshot.KindThread:      "joined thread",
	snapshot.KindHandle:      "thread handle",
	snapshot.KindEvent:       "Event",
	snapshot.KindSemaphore:   "Semaphore",
	snapshot.KindFuture:      "Future",
	snapshot.KindSocket:      "socket",
	snapshot.KindDeque:       "deque",
	"gil":                    "GIL",
}

// resourceLabel is "Lock ledger", or "Lock @0x7f…" when unnamed, with a
// second line for facts that explain a wait: a queue's length, a locked lock
// that no thread is known to hold.
func resourceLabel(r locks.Ref, ob *snapshot.Object, noHolder bool) string {
	id := r.ID
	addr := ""
	kind := r.Kind
	if at := strings.LastIndexByte(id, '@'); at >= 0 {
		addr = id[at+1:]
		if kind == "" {
			kind = id[:at]
		}
	}
	if kind == "" {
		kind = id
	}
	title := kindNames[kind]
	if title == "" {
		title = clean(kind, maxName)
	}
	var handle string
	switch {
	case r.Name != nil && *r.Name != "":
		handle = clean(*r.Name, maxName)
	case ob != nil && len(ob.Names) > 0 && ob.Names[0] != "":
		handle = clean(ob.Names[0], maxName)
	case addr != "":
		handle = "@" + clean(addr, maxName)
	}
	lines := []string{title}
	if handle != "" && kind != "gil" {
		lines[0] += " " + handle
	}
	if ob != nil {
		if ob.Len != nil && (kind == snapshot.KindQueue || kind == snapshot.KindSimpleQueue || kind == snapshot.KindDeque) {
			lines = append(lines, fmt.Sprintf("length %d", *ob.Len))
		}
		if noHolder && ob.Locked != nil && *ob.Locked && (kind == snapshot.KindLock || kind == snapshot.KindRLock) {
			lines = append(lines, "locked, no live holder found")
		}
	}
	return strings.Join(lines, "\n")
}

// holdLabel is the label of a resource → thread edge: "held by" with the
// with-block line when the evidence names one, "probably held by" with where
// the bare acquire() was.
func holdLabel(k EdgeKind, evidence string) string {
	clause := ""
	switch k {
	case EdgeHeld:
		for _, part := range strings.Split(evidence, ";") {
			if part = strings.TrimSpace(part); strings.HasPrefix(part, "with ") {
				clause = part
				break
			}
		}
	case EdgeProbable:
		clause, _, _ = strings.Cut(evidence, "…")
		clause, _, _ = strings.Cut(clause, ";")
		clause = strings.TrimSpace(clause)
	}
	if clause == "" {
		return k.String()
	}
	return k.String() + "\n" + clean(clause, maxEvidence)
}
