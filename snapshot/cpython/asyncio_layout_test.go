package cpython

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
	"github.com/pyhang/pyhang/snapshot/elfsym"
)

// The asyncio part of the layout table is checked three ways: against the
// DWARF of the pyenv builds (libpython and the _asyncio module), against
// each interpreter's own view from inside (testdata/asyncioprobe.py reads
// its tasks at the table's offsets with ctypes), and for 3.14, which no
// build here has DWARF for, against the offsets the interpreter publishes
// (.AsyncioDebug, _Py_DebugOffsets).

// asyncioChecks are the offsets to compare with DWARF for one layout.
func asyncioChecks(l *Layout) []offsetCheck {
	var out []offsetCheck
	add := func(what string, want int64, module, typ, path string, size int64, optional bool) {
		if want < 0 {
			return
		}
		out = append(out, offsetCheck{what: what, want: want, module: module, typ: typ, path: path, size: size, optional: optional})
	}
	a := l.Asyncio
	add("Asyncio.FutLoop (task)", a.FutLoop, "_asyncio", "TaskObj", "task_loop", 8, true)
	add("Asyncio.FutLoop (future)", a.FutLoop, "_asyncio", "FutureObj", "fut_loop", 8, true)
	add("Asyncio.FutCallback0", a.FutCallback0, "_asyncio", "FutureObj", "fut_callback0", 8, true)
	add("Asyncio.FutCallbacks", a.FutCallbacks, "_asyncio", "FutureObj", "fut_callbacks", 8, true)
	add("Asyncio.FutState (task)", a.FutState, "_asyncio", "TaskObj", "task_state", 4, true)
	add("Asyncio.FutState (future)", a.FutState, "_asyncio", "FutureObj", "fut_state", 4, true)
	add("Asyncio.TaskFutWaiter", a.TaskFutWaiter, "_asyncio", "TaskObj", "task_fut_waiter", 8, true)
	add("Asyncio.TaskCoro", a.TaskCoro, "_asyncio", "TaskObj", "task_coro", 8, true)
	add("Asyncio.TaskName", a.TaskName, "_asyncio", "TaskObj", "task_name", 8, true)
	add("Asyncio.TaskNode", a.TaskNode, "_asyncio", "TaskObj", "task_node", 16, true)
	add("asyncio.go futureIter", futureIter, "_asyncio", "futureiterobject", "future", 8, true)
	add("asyncio.go cellRef", cellRef, "", "PyCellObject", "ob_ref", 8, false)
	add("Asyncio.GenFrame", a.GenFrame, "", "PyGenObject", "gi_frame", 8, false)
	add("Asyncio.GenFrame (coroutine)", a.GenFrame, "", "PyCoroObject", "cr_frame", 8, false)
	add("Asyncio.GenRunning", a.GenRunning, "", "PyGenObject", "gi_running", 1, false)
	add("Asyncio.GenIFrame", a.GenIFrame, "", "PyGenObject", "gi_iframe", 0, false)
	add("Asyncio.GenIFrame (coroutine)", a.GenIFrame, "", "PyCoroObject", "cr_iframe", 0, false)
	add("Asyncio.GenFrameState", a.GenFrameState, "", "PyGenObject", "gi_frame_state", 1, false)
	add("Asyncio.FState", a.FState, "", "_frame", "f_state", 1, false)
	add("asyncio.go weakrefObj", weakrefObj, "", "_PyWeakReference", "wr_object", 8, false)
	add("asyncio.go setMask", setMask, "", "PySetObject", "mask", 8, false)
	add("asyncio.go setTable", setTable, "", "PySetObject", "table", 8, false)
	out = append(out, offsetCheck{what: "asyncio.go setEntry", want: setEntry, typ: "setentry", path: sizeOf})
	if l.Minor >= 10 {
		add("coro.go asendGen", asendGen, "", "PyAsyncGenASend", "ags_gen", 8, true)
	}
	return out
}

// TestAsyncioLayoutDWARF compares the asyncio offsets with the DWARF of
// every interpreter built with debug information.
func TestAsyncioLayoutDWARF(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			if !in.DWARF {
				t.Skipf("%s: skipped: %s has no .debug_info (TestAsyncioAgainstInterpreters covers it)", in.Name, in.Binary)
			}
			l, err := LayoutFor(in.Minor)
			if err != nil {
				t.Skipf("%s: skipped: %v", in.Name, err)
			}
			dt, err := loadDWARF(in.Binary)
			if err != nil {
				t.Fatalf("%s: %v", in.Name, err)
			}
			r := &checkRun{t: t, in: in, libs: map[string]*dwarfTypes{"": dt}, libErr: map[string]string{}}
			for _, c := range asyncioChecks(l) {
				r.check(c)
			}
			r.frameStates(l)
			r.futureStates()
			if r.unavailable > 0 {
				t.Errorf("%s: %d asyncio offsets had no DWARF to check against", in.Name, r.unavailable)
			}
			t.Logf("%s: %d asyncio fields checked, %d mismatches", in.Name, r.checked, r.mismatches)
		})
	}
}

// frameStates checks the generator frame states against enum _framestate
// (3.10+; PyFrameState in 3.10).
func (r *checkRun) frameStates(l *Layout) {
	if r.in.Minor < 10 {
		return
	}
	enums := r.libs[""].enums
	want := map[string]int{"FRAME_EXECUTING": l.FrameExecuting, "FRAME_SUSPENDED": l.FrameSuspended}
	if l.FrameYieldFrom != 0 {
		want["FRAME_SUSPENDED_YIELD_FROM"] = l.FrameYieldFrom
	} else if _, ok := enums["FRAME_SUSPENDED_YIELD_FROM"]; ok {
		r.mismatches++
		r.t.Errorf("%s: DWARF has FRAME_SUSPENDED_YIELD_FROM, the table has no FrameYieldFrom", r.in.Name)
	}
	for name, v := range want {
		got, ok := enums[name]
		r.checked++
		if !ok || got != int64(v) {
			r.mismatches++
			r.t.Errorf("%s: %s is %d in DWARF (found %v), table %d", r.in.Name, name, got, ok, v)
		}
	}
	// Every state below the suspended ones is "created", every one above
	// executing is "done" (genStateOf).
	for name, v := range enums {
		if !strings.HasPrefix(name, "FRAME_") || strings.HasPrefix(name, "FRAME_OWNED") {
			continue
		}
		st := genStateOf(l, int(v))
		ok := true
		switch {
		case strings.HasPrefix(name, "FRAME_CREATED"):
			ok = st == genCreated
		case strings.HasPrefix(name, "FRAME_SUSPENDED"):
			ok = st == genSuspended
		case name == "FRAME_EXECUTING":
			ok = st == genRunning
		case name == "FRAME_COMPLETED" || name == "FRAME_CLEARED" || name == "FRAME_RETURNED" ||
			name == "FRAME_UNWINDING" || name == "FRAME_RAISED":
			ok = st == genDone
		default:
			continue
		}
		r.checked++
		if !ok {
			r.mismatches++
			r.t.Errorf("%s: %s = %d reads as outcome %d", r.in.Name, name, v, st)
		}
	}
}

// futureStates checks futureStates against enum fut_state of _asyncio.
func (r *checkRun) futureStates() {
	dt := r.lib("_asyncio")
	if dt == nil {
		r.unavailable++
		return
	}
	for i, name := range []string{"STATE_PENDING", "STATE_CANCELLED", "STATE_FINISHED"} {
		r.checked++
		if v, ok := dt.enums[name]; !ok || v != int64(i) || futStateName(i) != strings.TrimPrefix(name, "STATE_") {
			r.mismatches++
			r.t.Errorf("%s: %s is %d in DWARF (found %v); pyhang reads %d as %s", r.in.Name, name, v, ok, i, futStateName(i))
		}
	}
}

// TestAsyncioAgainstInterpreters runs testdata/asyncioprobe.py under every
// interpreter: the task fields at the table's offsets must hold what
// asyncio says they do, and the opcodes must be the interpreter's.
func TestAsyncioAgainstInterpreters(t *testing.T) {
	script, err := filepath.Abs(filepath.Join("testdata", "asyncioprobe.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			l, err := LayoutFor(in.Minor)
			if err != nil {
				t.Skipf("%s: skipped: %v", in.Name, err)
			}
			a := l.Asyncio
			offs, _ := json.Marshal(map[string]int64{"FutLoop": a.FutLoop, "FutState": a.FutState,
				"TaskFutWaiter": a.TaskFutWaiter, "TaskCoro": a.TaskCoro, "TaskName": a.TaskName})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := in.Command(ctx, script, string(offs)).Output()
			if err != nil {
				t.Fatalf("%s: %v", in.Name, err)
			}
			var res struct {
				Checks []struct {
					What      string
					Got, Want any
				}
				Opcodes map[string]*int
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("%s: %v\n%s", in.Name, err, out)
			}
			for _, c := range res.Checks {
				if fmt.Sprint(c.Got) != fmt.Sprint(c.Want) {
					t.Errorf("%s: %s: the table's offset holds %v, asyncio says %v", in.Name, c.What, c.Got, c.Want)
				}
			}
			op := func(name string) int {
				if v := res.Opcodes[name]; v != nil {
					return *v
				}
				return 0
			}
			if in.Minor <= 10 && op("YIELD_FROM") != a.YieldFromOp {
				t.Errorf("%s: YIELD_FROM is %d, the table says %d", in.Name, op("YIELD_FROM"), a.YieldFromOp)
			}
			if in.Minor == 11 || in.Minor == 12 {
				alt := "RESUME_QUICK"
				if in.Minor == 12 {
					alt = "INSTRUMENTED_RESUME"
				}
				if op("RESUME") != a.ResumeOps[0] || op(alt) != a.ResumeOps[1] {
					t.Errorf("%s: RESUME, %s are %d, %d; the table says %v", in.Name, alt, op("RESUME"), op(alt), a.ResumeOps)
				}
			}
			t.Logf("%s: %d task fields and the opcodes agree", in.Name, len(res.Checks))
		})
	}
}

// TestAsyncioDebugOffsets: for 3.14+, the table must agree with what the
// interpreter publishes about itself, read from its files: the
// .AsyncioDebug section of its _asyncio module, and the gen_object group of
// _Py_DebugOffsets.
func TestAsyncioDebugOffsets(t *testing.T) {
	ran := 0
	for _, in := range testinterp.All(t) {
		if in.Minor < 14 {
			continue
		}
		ran++
		t.Run(in.Name, func(t *testing.T) {
			l, err := LayoutFor(in.Minor)
			if err != nil {
				t.Fatal(err)
			}
			mod := extModule(in, "_asyncio")
			if mod == "" {
				t.Fatalf("%s: no _asyncio module next to %s", in.Name, in.Binary)
			}
			f, err := os.Open(mod)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			bin, err := elfsym.Open(f, mod)
			if err != nil {
				t.Fatal(err)
			}
			s := bin.Section(aioSection)
			if s == nil {
				t.Fatalf("%s has no %s section", mod, aioSection)
			}
			raw, err := sectionBytes(s.Size, s.ReadAt)
			if err != nil {
				t.Fatal(err)
			}
			o, _, err := parseAioOffsets(raw, mod)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what string
				got  uint64
				want int64
			}{
				{"task_name", o.taskName, l.TaskName}, {"task_coro", o.taskCoro, l.TaskCoro}, {"task_node", o.taskNode, l.TaskNode},
				{"_PyThreadStateImpl.asyncio_tasks_head", o.tstateTasks, l.TstateAsyncioTasks},
				{"PyInterpreterState.asyncio_tasks_head", o.interpTasks, l.InterpAsyncioTasks},
			} {
				if int64(c.got) != c.want {
					t.Errorf("%s: %s is %d in %s, the table says %d", in.Name, c.what, c.got, mod, c.want)
				}
			}
			gen := genDebugOffsets(t, in.Binary)
			if gen[0] != uint64(l.GenIFrame) || gen[1] != uint64(l.GenFrameState) {
				t.Errorf("%s: _Py_DebugOffsets.gen_object gi_iframe %d, gi_frame_state %d; the table says %d, %d",
					in.Name, gen[0], gen[1], l.GenIFrame, l.GenFrameState)
			}
			t.Logf("%s: %s and _Py_DebugOffsets.gen_object agree with the table", in.Name, aioSection)
		})
	}
	if ran == 0 {
		t.Skip("no 3.14+ interpreter (listed above)")
	}
}

// genDebugOffsets reads gen_object.gi_iframe and gi_frame_state of
// _Py_DebugOffsets (3.14: the group at +664) from the interpreter's file.
func genDebugOffsets(t *testing.T, path string) [2]uint64 {
	t.Helper()
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bin, err := elfsym.Open(f, path)
	if err != nil {
		t.Fatal(err)
	}
	sym, ok := bin.Lookup("_PyRuntime")
	if !ok {
		t.Fatalf("%s defines no _PyRuntime", path)
	}
	b, err := bin.ReadVA(sym.Value+664, 32)
	if err != nil {
		t.Fatal(err)
	}
	return [2]uint64{binary.LittleEndian.Uint64(b[16:]), binary.LittleEndian.Uint64(b[24:])}
}

// TestParseAioOffsets: the section's offsets are checked against the sizes
// of their structs.
func TestParseAioOffsets(t *testing.T) {
	words := []uint64{168, 136, 96, 108, 109, 128, 152, 225864, 10880, 936, 864, 872, 880} // Debian 3.14.10
	enc := func(w []uint64) []byte {
		b := make([]byte, 8*len(w))
		for i, v := range w {
			binary.LittleEndian.PutUint64(b[8*i:], v)
		}
		return b
	}
	o, _, err := parseAioOffsets(enc(words), "test")
	if err != nil || o.taskNode != 152 || o.tstateTasks != 880 || o.interpTasks != 10880 {
		t.Fatalf("good section: %+v, %v", o, err)
	}
	for i, bad := range []func(w []uint64){
		func(w []uint64) { w[6] = 4096 },    // task_node outside TaskObj
		func(w []uint64) { w[0] = 0 },       // no TaskObj
		func(w []uint64) { w[9] = 1 << 40 }, // implausible thread state
		func(w []uint64) { w[12] = 935 },    // the list head does not fit
		func(w []uint64) { w[7] = 1 << 62 }, // implausible interpreter
	} {
		w := append([]uint64(nil), words...)
		bad(w)
		if _, _, err := parseAioOffsets(enc(w), "test"); err == nil {
			t.Errorf("bad section %d accepted", i)
		}
	}
	if _, err := sectionBytes(8, nil); err == nil {
		t.Error("a section too small accepted")
	}
}
