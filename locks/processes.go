package locks

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// childWait is the wait of a thread in wait4: for the child process it names.
// The resource is the subprocess.Popen the thread waits in (Popen.wait), or,
// for a bare os.waitpid(), the child's pid. Only the child's end ends it.
func (a *Analysis) childWait(x *index, th *snapshot.Thread, prims []primitive) *Wait {
	pid := *th.Kernel.WaitPID
	w := &Wait{Evidence: []Evidence{{Basis: BasisWaitChild, Syscall: th.Kernel.Syscall, PID: pid}}}
	if len(prims) > 0 {
		outer := prims[len(prims)-1]
		if ob := x.s.Objects[outer.obj]; ob != nil && outer.kind == KindProcess {
			w.Ref, w.Object = ref(ob), ob.ID
			w.Ref.Kind = KindProcess
			w.Frame = min(outer.index+1, len(th.Frames)-1)
			f := &th.Frames[outer.index]
			w.Evidence = append([]Evidence{{Basis: BasisLibraryFrame, At: siteOf(f)}}, w.Evidence...)
			return w
		}
	}
	// multiprocessing's Process.join(): the Process object names the child.
	if i, ob := joinFrame(x, th); ob != nil && ob.MPProcess.PID == pid {
		w.Ref, w.Object = ref(ob), ob.ID
		w.Ref.Kind = KindProcess
		w.Frame = min(i+1, len(th.Frames)-1)
		w.Evidence = append([]Evidence{{Basis: BasisLibraryFrame, At: siteOf(&th.Frames[i])}}, w.Evidence...)
		return w
	}
	w.Frame = userFrame(th)
	id := KindProcess + "@" + strconv.Itoa(pid)
	a.extra(&snapshot.Object{ID: id, Kind: KindProcess, Type: "child process"})
	name := "pid " + strconv.Itoa(pid)
	if pid == -1 {
		name = "any child"
	}
	w.Ref = Ref{Kind: KindProcess, ID: id, Name: &name}
	return w
}

// ChildOf returns the child process a wait is for, from the kernel's facts
// (live targets), or nil.
func ChildOf(s *snapshot.Snapshot, w *Wait) *snapshot.ChildProcess {
	if w == nil || w.Kind != KindProcess {
		return nil
	}
	pid := 0
	for _, e := range w.Evidence {
		if e.Basis == BasisWaitChild {
			pid = e.PID
		}
	}
	if ob := s.Objects[w.Object]; ob != nil && ob.Child != nil {
		pid = ob.Child.PID
	}
	for i := range s.Target.Children {
		if c := &s.Target.Children[i]; c.PID == pid && pid > 0 {
			return c
		}
	}
	return nil
}

// sentinelWait is the wait of a thread in multiprocessing's Process.join()
// whose Popen waits on the process's sentinel rather than in wait4: with the
// forkserver start method (3.14's default on Linux) the process is the fork
// server's child, and join() polls a pipe the server writes its exit status
// to. The thread waits for that process, whose pid its Process object
// holds; nil for any other wait.
func (a *Analysis) sentinelWait(x *index, th *snapshot.Thread) *Wait {
	onSentinel := false
	for i := range th.Frames {
		f := &th.Frames[i]
		file := filepath.ToSlash(f.File)
		if (f.Function == "poll" || f.Function == "wait") && strings.HasSuffix(file, "multiprocessing/popen_forkserver.py") {
			onSentinel = true
			continue
		}
		if !onSentinel || f.Function != "join" || !strings.HasSuffix(file, "multiprocessing/process.py") {
			continue
		}
		ob := x.s.Objects[f.Refs["self"]]
		if ob == nil || ob.MPProcess == nil || ob.MPProcess.PID <= 0 {
			return nil
		}
		w := &Wait{Ref: ref(ob), Object: ob.ID, Frame: min(i+1, len(th.Frames)-1),
			Evidence: []Evidence{{Basis: BasisLibraryFrame, At: siteOf(f)},
				{Basis: BasisWaitChild, Syscall: th.Kernel.Syscall, PID: ob.MPProcess.PID}}}
		w.Ref.Kind = KindProcess
		return w
	}
	return nil
}

// joinFrame is the frame of multiprocessing's BaseProcess.join() on the
// thread's stack, and its Process object, or nil.
func joinFrame(x *index, th *snapshot.Thread) (int, *snapshot.Object) {
	for i := range th.Frames {
		f := &th.Frames[i]
		if f.Function != "join" || !strings.HasSuffix(filepath.ToSlash(f.File), "multiprocessing/process.py") {
			continue
		}
		if ob := x.s.Objects[f.Refs["self"]]; ob != nil && ob.MPProcess != nil && ob.MPProcess.PID > 0 {
			return i, ob
		}
		return i, nil
	}
	return 0, nil
}
