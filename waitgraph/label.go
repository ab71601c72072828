package waitgraph

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/internal/safetext"
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

// clean makes target text safe and short for a label line: control
// characters and invalid UTF-8 are shown escaped, as in the text reports.
func clean(s string, max int) string { return safetext.Clip(s, max) }

// frameLine is "h.py:17 in settle".
func frameLine(f *snapshot.Frame) string { return clean(f.Where(), 2*maxName) }

// threadLabel is "posting (tid 4355)\nsettle at h.py:17", plus the frame that
// waits when it is not the innermost one (a Condition.wait called from
// queue.get called from the worker).
func threadLabel(tid int, t *snapshot.Thread, waitFrame map[int]int) string {
	if t == nil {
		return fmt.Sprintf("tid %d\n(not in snapshot)", tid)
	}
	name := t.Handle()
	if t.Name == "" && !t.Main {
		name = "thread"
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

// taskLabel is `task "worker" (Task-3)\nworker at h.py:17`: the task's
// name, its innermost frame, and the frame that waits when it is not the
// innermost one (a Lock.acquire called from the task's own coroutine).
func taskLabel(id string, t *snapshot.Task, waitFrame map[string]int) string {
	if t == nil {
		return fmt.Sprintf("task %s\n(not in snapshot)", clean(id, maxName))
	}
	lines := []string{"task " + clean(t.Handle(), maxName)}
	if len(t.Frames) > 0 {
		lines = append(lines, frameLine(&t.Frames[0]))
	}
	if i, ok := waitFrame[id]; ok && i > 0 && i < len(t.Frames) {
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
	snapshot.KindTask:        "awaited task",
	snapshot.KindTaskGroup:   "TaskGroup",
	snapshot.KindLoop:        "event loop",
	locks.KindSleep:          "asyncio.sleep",
	locks.KindIO:             "I/O",
	"gil":                    "GIL",
	"process":                "process",
	"pipe":                   "pipe",
}

// resourceLabel is "Lock ledger", or "Lock @0x7f…" when unnamed, with a
// second line for facts that explain a wait: a queue's length, a locked lock
// or a semaphore with no unit left that no thread is known to hold.
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
		if noHolder && kind == snapshot.KindSemaphore && ob.Value == "0" {
			lines = append(lines, "no unit left, no live holder found")
		}
	}
	return strings.Join(lines, "\n")
}

// waitLabel is the label of a thread → resource edge: "waits for", and where
// the wait is named only from the thread's Python frame, that it is.
func waitLabel(evidence []locks.Evidence) string {
	for _, ev := range evidence {
		if ev.Basis == locks.BasisPythonFrame {
			return EdgeWaits.String() + "\n(from its Python frame)"
		}
	}
	return EdgeWaits.String()
}

// holdLabel is the label of a resource → thread edge: "held by" with the
// with statement's line, "probably held by" with where the bare acquire() was.
func holdLabel(k EdgeKind, evidence []locks.Evidence) string {
	clause := ""
	for _, ev := range evidence {
		if ev.At == nil {
			continue
		}
		at := clean(filepath.Base(ev.At.File), maxName) + ":" + strconv.Itoa(ev.At.Line)
		switch {
		case k == EdgeHeld && ev.Basis == locks.BasisWith && !ev.Enclosing:
			clause = "with block at " + at
		case k == EdgeHeld && ev.Basis == locks.BasisWith:
			clause = "with block enclosing " + at
		case k == EdgeProbable && ev.Basis == locks.BasisBareAcquire:
			clause = "inside acquire() at " + at
		case k == EdgeProbable && ev.Basis == locks.BasisFeedSite:
			// Not a hold: the call of that thread's that would end the wait.
			return "probably ended by\n" + clean(ev.At.Call, maxName) + "() at " + at
		}
		if clause != "" {
			break
		}
	}
	if clause == "" {
		return k.String()
	}
	return k.String() + "\n" + clause
}
