package locks

import (
	"path/filepath"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// A blocked thread's innermost frames are often the standard library's own
// (Condition.wait inside Queue.get inside the user's code). primitiveFrame
// recognises those frames by file and function name and by the kind of their
// `self`, so the wait can be named by the object the user called (the queue),
// not by the private lock the condition parks on.

type stdFrame struct {
	file, function, selfKind string
	kind                     string // the wait kind it stands for
}

var stdFrames = []stdFrame{
	{"threading.py", "wait", snapshot.KindCondition, snapshot.KindCondition},
	{"threading.py", "wait_for", snapshot.KindCondition, snapshot.KindCondition},
	{"threading.py", "wait", snapshot.KindEvent, snapshot.KindEvent},
	{"threading.py", "acquire", snapshot.KindSemaphore, snapshot.KindSemaphore},
	{"threading.py", "join", snapshot.KindThread, snapshot.KindThread},
	{"threading.py", "_wait_for_tstate_lock", snapshot.KindThread, snapshot.KindThread},
	{"queue.py", "get", snapshot.KindQueue, snapshot.KindQueue},
	{"queue.py", "put", snapshot.KindQueue, snapshot.KindQueue},
	{"queue.py", "join", snapshot.KindQueue, snapshot.KindQueue},
	{"_base.py", "result", snapshot.KindFuture, snapshot.KindFuture},
	{"_base.py", "exception", snapshot.KindFuture, snapshot.KindFuture},
	{"threading.py", "wait", snapshot.KindBarrier, snapshot.KindBarrier},
	{"threading.py", "_wait", snapshot.KindBarrier, snapshot.KindBarrier},
	{"<frozen importlib._bootstrap>", "acquire", snapshot.KindModuleLock, snapshot.KindModuleLock},
	{"pool.py", "wait", snapshot.KindMPResult, snapshot.KindMPResult},
	{"pool.py", "get", snapshot.KindMPResult, snapshot.KindMPResult},
	{"subprocess.py", "_try_wait", snapshot.KindPopen, KindProcess},
	{"subprocess.py", "_wait", snapshot.KindPopen, KindProcess},
	{"subprocess.py", "wait", snapshot.KindPopen, KindProcess},
}

// futureWaiters are module-level functions of concurrent.futures that wait on
// many futures at once.
var futureWaiters = map[string]bool{"as_completed": true, "wait": true}

// primitive is a recognised standard-library wait frame.
type primitive struct {
	index int // frame index
	kind  string
	obj   string // object id of self ("" for as_completed/wait)
}

// primitiveFrames returns the recognised frames, innermost first, from the
// top of the stack down to the first frame that is not one.
func primitiveFrames(s *snapshot.Snapshot, th *snapshot.Thread) []primitive {
	var out []primitive
	for i := range th.Frames {
		f := &th.Frames[i]
		p, ok := recognise(s, f)
		if !ok {
			break
		}
		p.index = i
		out = append(out, p)
	}
	return out
}

func recognise(s *snapshot.Snapshot, f *snapshot.Frame) (primitive, bool) {
	base := filepath.Base(f.File)
	if base == "_base.py" && strings.Contains(f.File, "concurrent") && futureWaiters[f.Function] {
		return primitive{kind: snapshot.KindFuture}, true
	}
	self := f.Refs["self"]
	ob := s.Objects[self]
	if ob == nil {
		return primitive{}, false
	}
	for _, sf := range stdFrames {
		if base == sf.file && f.Function == sf.function && ob.Kind == sf.selfKind {
			return primitive{kind: sf.kind, obj: self}, true
		}
	}
	return primitive{}, false
}
