package cpython

import "fmt"

// Layout holds the byte offsets pyhang reads, for one minor version of CPython
// on x86-64 (default GIL build, not debug). Sources: the per-version tables of
// ../shared/reference/cpython-internals.md, established with offsetof against the
// real headers and checked against the DWARF of the pyenv builds by
// layout_dwarf_test.go. An offset of -1 means the field does not exist in that
// version. For 3.13+ the values present in _Py_DebugOffsets are taken from the
// running interpreter instead (see debugoffsets.go).
type Layout struct {
	Minor int

	// _PyRuntimeState
	RuntimeInterpHead    int64 // interpreters.head
	RuntimeMainThread    int64 // main_thread (pthread_t)
	RuntimeGILCurrent    int64 // gilstate.tstate_current (≤3.11)
	RuntimeGIL           int64 // ceval.gil, embedded (≤3.11)
	RuntimeInterpMain    int64 // interpreters.main: the main interpreter
	RuntimeFinalizing    int64 // finalizing / _finalizing: the thread state running Py_FinalizeEx, NULL before
	RuntimeGC            int64 // gc, embedded (3.8 only; per interpreter from 3.9)
	InterpID             int64 // PyInterpreterState.id (int64): 0 for the main interpreter
	InterpGC             int64 // gc, embedded struct _gc_runtime_state (3.9+)
	InterpFinalizing     int64 // int finalizing (≤3.11, set by Py_EndInterpreter) / _finalizing thread state (3.12+)
	GCCollecting         int64 // _gc_runtime_state.collecting (int): a collection is running
	GCCallbacks          int64 // _gc_runtime_state.callbacks: the list behind gc.callbacks
	InterpNext           int64 // PyInterpreterState.next
	InterpThreadsHead    int64 // tstate_head / threads.head
	InterpModules        int64 // modules / imports.modules (sys.modules)
	InterpSysdict        int64
	InterpGILPtr         int64 // ceval.gil (pointer, 3.12+)
	TstateNext           int64
	TstateInterp         int64
	TstateFrame          int64 // frame (≤3.10), cframe (3.11/3.12), current_frame (3.13+)
	CFrameCurrentFrame   int64 // _PyCFrame.current_frame (3.11/3.12)
	TstateThreadID       int64 // pthread_t
	TstateNativeThreadID int64 // 3.11+
	TstateSize           int64

	// PyFrameObject (≤3.10)
	FBack, FCode, FValuestack, FLasti, FIblock, FBlockstack, FLocalsplus int64
	FStacktop                                                            int64 // 3.8/3.9 (NULL while executing)
	FStackdepth                                                          int64 // 3.10 (int, -1 while executing)
	FrameGlobals                                                         int64 // f_globals of PyFrameObject (≤3.10) or _PyInterpreterFrame

	// _PyInterpreterFrame (3.11+)
	IFCode, IFPrevious, IFFrameObj, IFInstr, IFOwner, IFLocalsplus int64
	IFStacktop                                                     int64 // int, 3.11–3.13
	IFStackpointer                                                 int64 // pointer, 3.14
	IFIsEntry                                                      int64 // 3.11
	OwnerCStack                                                    int   // owner values >= this are not Python frames
	OwnerGenerator                                                 int
	StackRefTagged                                                 bool  // 3.14: f_executable and stack slots are _PyStackRef
	CodeFirstTrace                                                 int64 // _co_firsttraceable
	FrameObjFrame                                                  int64 // PyFrameObject.f_frame → its _PyInterpreterFrame (3.11+)

	// Which Python frames one activation of the interpreter loop runs, to
	// put each Python frame beside the native frame that runs it (Python/
	// ceval.c): before 3.11 one frame each (EvalPerFrame); 3.11 runs inlined
	// calls until the frame it was entered with, marked is_entry (IFIsEntry),
	// and keeps a _PyCFrame on its own C stack (CFramePrevious chains them);
	// 3.12+ pushes an entry frame on its own C stack below the first frame
	// it runs, with owner OwnerEntryShim (FRAME_OWNED_BY_CSTACK in 3.12/3.13,
	// FRAME_OWNED_BY_INTERPRETER in 3.14: both 3).
	EvalFunction   string // the loop's symbol, exported by every build
	EvalPerFrame   bool
	CFramePrevious int64 // _PyCFrame.previous (3.11/3.12)
	OwnerEntryShim int   // -1 before 3.12

	// PyCodeObject
	CoArgcount, CoNlocals, CoFirstlineno, CoVarnames, CoFilename, CoName int64
	CoKwonlyargcount, CoFlags                                            int64 // ints: which locals are arguments
	CoQualname                                                           int64 // 3.11+
	CoLinetable                                                          int64 // co_lnotab (3.8/3.9) or co_linetable
	CoExceptiontable                                                     int64 // 3.11+
	CoNlocalsplus                                                        int64 // 3.11+
	CoLocalsNames                                                        int64 // co_localsplusnames 3.11+
	CoLocalsKinds                                                        int64 // co_localspluskinds 3.11+
	CoCode                                                               int64 // co_code bytes object (≤3.10)
	CoCellvars, CoFreevars                                               int64 // name tuples (≤3.10)
	CoCodeAdaptive                                                       int64 // 3.11+
	CoStacksize                                                          int64 // co_stacksize (int): bounds a saved stack pointer, sizes a value stack

	// Objects
	StrASCIIData       int64 // compact ASCII data
	StrCompactData     int64 // compact non-ASCII data
	TupleItems         int64
	IntNewLayout       bool  // 3.12+ lv_tag
	HeapTypeCachedKeys int64 // ht_cached_keys (3.11+)
	HeapTypeQualname   int64 // ht_qualname
	DictNew            bool  // 3.11+ dict keys layout
	ValuesHeader       int64 // offset of values[0] in PyDictValues (3.13+: 8)
	ManagedDict        int   // 0 none (≤3.10), 11, 12, 13 (3.13+)
	FuncCode           int64 // PyFunctionObject.func_code
	FuncQualname       int64 // PyFunctionObject.func_qualname
	FuncClosure        int64 // PyFunctionObject.func_closure: a tuple of cells, or NULL

	// GIL (struct _gil_runtime_state): GILInterval is the switch interval
	// in microseconds, GILSwitches counts the times another thread took it.
	GILInterval, GILLastHolder, GILLocked, GILSwitches int64

	// Bytecode, read only to find the line of an instruction that has none
	// (see enclosingline.go). Source: each version's Lib/opcode.py (and
	// _opcode_metadata.py), checked against every interpreter's own opcode
	// module by opcodes_interp_test.go; opcodes are macros, not in DWARF.
	OpExtendedArg  byte
	OpJumpAbsolute byte         // 3.10 JUMP_ABSOLUTE: its argument is the target unit (0: none)
	OpJumpBack     map[byte]int // 3.11+ backward jumps (specialised and instrumented forms too) → inline cache units after them

	// Thread-module objects
	LockLockAddr bool // _thread.lock holds a sem_t* at +16 (3.8–3.13.0), else PyMutex at +16
	RLockMutex   bool // _thread.RLock is a _PyRecursiveMutex (3.14)

	// What an executing frame is calling (calling.go). Opcode numbers change
	// with every minor release; each is the version's opcode.opmap /
	// opcode._specialized_opmap value, checked against the interpreters by
	// calling_interp_test.go (opcodes are macros, not in DWARF).
	//
	// OpBeforeWith is BEFORE_WITH (3.11–3.13; -1 elsewhere): it calls the
	// manager's __enter__ while the manager's slot is still on the stack.
	OpBeforeWith int
	// WithEnterExit: BEFORE_WITH has already replaced the manager's slot by
	// its bound __exit__ when it calls __enter__ (3.11 SET_TOP(exit) before
	// the call; 3.12/3.13 write their outputs after it).
	WithEnterExit bool
	// CallOps and CallKWOps are CALL and CALL_KW with their specialised and
	// instrumented forms (3.14, whose frames save the stack pointer before
	// every escaping call: the inputs [callable, self_or_null, args…
	// (, kwnames)] are on the stack while the callee runs).
	CallOps, CallKWOps []uint8

	Asyncio
}

// Asyncio holds the offsets of asyncio's C tasks and futures
// (Modules/_asynciomodule.c: FutureObj_HEAD, TaskObj) and of the coroutine
// and generator objects an await chain runs through. Checked against the
// DWARF of the pyenv builds' _asyncio module and libpython by
// asyncio_dwarf_test.go; the opcode numbers against each interpreter's own
// opcode module by asyncio_interp_test.go.
type Asyncio struct {
	FutLoop       int64 // fut_loop
	FutCallback0  int64 // fut_callback0: the first done-callback, kept apart
	FutCallbacks  int64 // fut_callbacks: a list of (callback, context) tuples, or NULL
	FutState      int64 // fut_state (enum: 0 pending, 1 cancelled, 2 finished)
	TaskFutWaiter int64 // task_fut_waiter: the future the task's coroutine awaits
	TaskCoro      int64 // task_coro
	TaskName      int64 // task_name: a str, or (3.12+) an int N until get_name() makes it "Task-N"
	TaskNode      int64 // task_node: the llist_node of the 3.14 per-thread task lists
	// Heads of the 3.14 task lists in _PyThreadStateImpl and PyInterpreterState;
	// the _asyncio module's .AsyncioDebug section gives the running
	// interpreter's own values (see asyncio.go).
	TstateAsyncioTasks, InterpAsyncioTasks int64

	GenFrame      int64 // gi_frame / cr_frame, a PyFrameObject* (≤3.10)
	GenRunning    int64 // gi_running / cr_running, char (3.8/3.9)
	GenIFrame     int64 // gi_iframe / cr_iframe, the embedded _PyInterpreterFrame (3.11+)
	GenFrameState int64 // gi_frame_state, int8 (3.11+)
	FState        int64 // PyFrameObject.f_state, char (3.10)
	// Frame states: a suspended generator (3.10–3.12: it may sit at a yield
	// or an await; the next instruction tells), one suspended in yield from
	// or await (3.13+, FRAME_SUSPENDED_YIELD_FROM; 0 before), executing.
	FrameSuspended, FrameYieldFrom, FrameExecuting int
	// YieldFromOp is YIELD_FROM (≤3.10): a frame suspended in it has the
	// awaited object on top of its value stack. ResumeOps are RESUME and its
	// quickened or instrumented twin (3.11/3.12): after an await, the next
	// instruction is RESUME with oparg ≥ 2.
	YieldFromOp int
	ResumeOps   [2]int
}

// asyncioLayouts are the Asyncio offsets per minor version.
var asyncioLayouts = map[int]Asyncio{
	8: {FutLoop: 16, FutCallback0: 24, FutCallbacks: 40, FutState: 72, TaskFutWaiter: 104, TaskCoro: 112, TaskName: 120, TaskNode: -1,
		TstateAsyncioTasks: -1, InterpAsyncioTasks: -1,
		GenFrame: 16, GenRunning: 24, GenIFrame: -1, GenFrameState: -1, FState: -1, YieldFromOp: 72},
	9: {FutLoop: 16, FutCallback0: 24, FutCallbacks: 40, FutState: 80, TaskFutWaiter: 144, TaskCoro: 152, TaskName: 160, TaskNode: -1,
		TstateAsyncioTasks: -1, InterpAsyncioTasks: -1,
		GenFrame: 16, GenRunning: 24, GenIFrame: -1, GenFrameState: -1, FState: -1, YieldFromOp: 72},
	10: {FutLoop: 16, FutCallback0: 24, FutCallbacks: 40, FutState: 88, TaskFutWaiter: 152, TaskCoro: 160, TaskName: 168, TaskNode: -1,
		TstateAsyncioTasks: -1, InterpAsyncioTasks: -1,
		GenFrame: 16, GenRunning: -1, GenIFrame: -1, GenFrameState: -1, FState: 108, FrameSuspended: -1, YieldFromOp: 72},
	11: {FutLoop: 16, FutCallback0: 24, FutCallbacks: 40, FutState: 88, TaskFutWaiter: 128, TaskCoro: 136, TaskName: 144, TaskNode: -1,
		TstateAsyncioTasks: -1, InterpAsyncioTasks: -1,
		GenFrame: -1, GenRunning: -1, GenIFrame: 80, GenFrameState: 75, FState: -1, FrameSuspended: -1, ResumeOps: [2]int{151, 150}},
	12: {FutLoop: 16, FutCallback0: 24, FutCallbacks: 40, FutState: 88, TaskFutWaiter: 128, TaskCoro: 136, TaskName: 144, TaskNode: -1,
		TstateAsyncioTasks: -1, InterpAsyncioTasks: -1,
		GenFrame: -1, GenRunning: -1, GenIFrame: 72, GenFrameState: 67, FState: -1, FrameSuspended: -1, ResumeOps: [2]int{151, 240}},
	13: {FutLoop: 16, FutCallback0: 24, FutCallbacks: 40, FutState: 96, TaskFutWaiter: 112, TaskCoro: 120, TaskName: 128, TaskNode: -1,
		TstateAsyncioTasks: -1, InterpAsyncioTasks: -1,
		GenFrame: -1, GenRunning: -1, GenIFrame: 72, GenFrameState: 67, FState: -1, FrameSuspended: -2, FrameYieldFrom: -1},
	// 3.14 from Modules/_asynciomodule.c (FutureObj_HEAD gained fut_awaited_by,
	// fut_is_task …; TaskObj gained task_node) and the .AsyncioDebug section of
	// Debian's 3.14.10 _asyncio module (task_coro 128, task_name 136,
	// task_node 152; _PyThreadStateImpl.asyncio_tasks_head 880,
	// PyInterpreterState.asyncio_tasks_head 10880); gen_object from
	// _Py_DebugOffsets (gi_iframe 72, gi_frame_state 67).
	14: {FutLoop: 16, FutCallback0: 24, FutCallbacks: 40, FutState: 104, TaskFutWaiter: 120, TaskCoro: 128, TaskName: 136, TaskNode: 152,
		TstateAsyncioTasks: 880, InterpAsyncioTasks: 10880,
		GenFrame: -1, GenRunning: -1, GenIFrame: 72, GenFrameState: 67, FState: -1, FrameSuspended: -2, FrameYieldFrom: -1},
}

// layouts builds the table of each version, only the one asked for: a run
// reads one interpreter, and every run would otherwise pay for all seven.
var layouts = map[int]func() *Layout{8: layout38, 9: layout39, 10: layout310, 11: layout311, 12: layout312, 13: layout313, 14: layout314}

// LayoutFor returns the table for 3.minor, or an *UnsupportedError.
func LayoutFor(minor int) (*Layout, error) {
	build, ok := layouts[minor]
	if !ok {
		return nil, &UnsupportedError{Version: fmt.Sprintf("3.%d", minor)}
	}
	l := build()
	l.Asyncio = asyncioLayouts[minor]
	return l, nil
}

// UnsupportedError says the interpreter's version has no layout table.
type UnsupportedError struct{ Version string }

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("unsupported Python %s: pyhang reads CPython 3.8 to 3.14", e.Version)
}

func oldCommon() Layout {
	return Layout{
		RuntimeInterpHead: 32, RuntimeMainThread: 72, RuntimeInterpMain: 40, RuntimeFinalizing: 16, RuntimeGC: -1,
		InterpNext: 0, InterpThreadsHead: 8, InterpGILPtr: -1, GCCollecting: 200, GCCallbacks: 216,
		TstateNext: 8, TstateInterp: 16, TstateFrame: 24, CFrameCurrentFrame: -1,
		TstateThreadID: 176, TstateNativeThreadID: -1,
		FBack: 24, FCode: 32, FValuestack: 64, FrameGlobals: 48, FStacktop: -1, FStackdepth: -1,
		IFCode: -1, IFPrevious: -1, IFFrameObj: -1, IFInstr: -1, IFOwner: -1, IFLocalsplus: -1,
		IFStacktop: -1, IFStackpointer: -1, IFIsEntry: -1, CodeFirstTrace: -1, FrameObjFrame: -1,
		EvalFunction: "_PyEval_EvalFrameDefault", EvalPerFrame: true, CFramePrevious: -1, OwnerEntryShim: -1,
		CoArgcount: 16, CoKwonlyargcount: 24, CoNlocals: 28, CoFlags: 36, CoFirstlineno: 40, CoCode: 48, CoVarnames: 72,
		CoFreevars: 80, CoCellvars: 88,
		CoFilename: 104, CoName: 112, CoLinetable: 120, CoQualname: -1,
		CoExceptiontable: -1, CoNlocalsplus: -1, CoLocalsNames: -1, CoLocalsKinds: -1, CoCodeAdaptive: -1,
		CoStacksize: 32, OpBeforeWith: -1,
		StrASCIIData: 48, StrCompactData: 72, TupleItems: 24, HeapTypeCachedKeys: -1, HeapTypeQualname: 864,
		FuncCode: 16, FuncQualname: 104, FuncClosure: 48,
		GILInterval: 0, GILLastHolder: 8, GILLocked: 16, GILSwitches: 24, LockLockAddr: true,
		OpExtendedArg: 144,
	}
}

func layout38() *Layout {
	l := oldCommon()
	l.Minor = 8
	l.RuntimeGILCurrent, l.RuntimeGIL = 1368, 1152
	l.RuntimeGC = 344 // the collector is per runtime in 3.8
	l.InterpID, l.InterpGC, l.InterpFinalizing = 16, -1, 48
	l.InterpModules, l.InterpSysdict = 56, 72
	l.TstateSize = 264
	l.FStacktop, l.FLasti, l.FIblock, l.FBlockstack, l.FLocalsplus = 72, 104, 112, 120, 360
	return &l
}

func layout39() *Layout {
	l := oldCommon()
	l.Minor = 9
	l.HeapTypeQualname = 856 // 3.9 only: a field fewer before it
	l.RuntimeGILCurrent, l.RuntimeGIL = 568, 352
	l.InterpID, l.InterpGC, l.InterpFinalizing = 24, 616, 56
	l.InterpModules, l.InterpSysdict = 856, 872
	l.TstateSize = 264
	l.FStacktop, l.FLasti, l.FIblock, l.FBlockstack, l.FLocalsplus = 72, 104, 112, 120, 360
	return &l
}

func layout310() *Layout {
	l := oldCommon()
	l.Minor = 10
	l.FuncCode, l.FuncQualname, l.FuncClosure = 48, 40, 72 // 3.10 moved the fields every function has first
	l.RuntimeGILCurrent, l.RuntimeGIL = 568, 352
	l.InterpID, l.InterpGC, l.InterpFinalizing = 24, 616, 56
	l.InterpModules, l.InterpSysdict = 856, 872
	l.TstateSize = 280
	l.FStackdepth, l.FLasti, l.FIblock, l.FBlockstack, l.FLocalsplus = 80, 96, 104, 112, 352
	l.OpJumpAbsolute = 113
	return &l
}

func newCommon() Layout {
	return Layout{
		RuntimeInterpHead: 40, RuntimeMainThread: 80, RuntimeGILCurrent: -1, RuntimeGIL: -1,
		RuntimeInterpMain: 48, RuntimeFinalizing: 24, RuntimeGC: -1, GCCollecting: 200, GCCallbacks: 216,
		InterpNext: 0, InterpGILPtr: -1,
		TstateNext: 8, TstateInterp: 16, TstateFrame: 56, CFrameCurrentFrame: -1,
		TstateThreadID: 152, TstateNativeThreadID: 160,
		FBack: -1, FCode: -1, FValuestack: -1, FLasti: -1, FIblock: -1, FBlockstack: -1, FLocalsplus: -1,
		FStacktop: -1, FStackdepth: -1, FrameGlobals: 24,
		IFCode: 0, IFPrevious: 8, IFFrameObj: 48, IFInstr: 56, IFOwner: 70, IFLocalsplus: 72,
		IFStacktop: 64, IFStackpointer: -1, IFIsEntry: -1, FrameObjFrame: 24,
		OwnerCStack: 3, OwnerGenerator: 1,
		EvalFunction: "_PyEval_EvalFrameDefault", CFramePrevious: -1, OwnerEntryShim: 3,
		CoArgcount: 52, CoKwonlyargcount: 60, CoFlags: 48, CoNlocals: -1, CoCode: -1, CoVarnames: -1,
		CoCellvars: -1, CoFreevars: -1, CoExceptiontable: 40, CoFirstlineno: 68, CoNlocalsplus: 72, CoLocalsNames: 96, CoLocalsKinds: 104,
		CoFilename: 112, CoName: 120, CoQualname: 128, CoLinetable: 136, CoStacksize: 64,
		StrASCIIData: 40, StrCompactData: 56, TupleItems: 24, IntNewLayout: true, DictNew: true, FuncCode: 48, FuncQualname: 40, FuncClosure: 72,
		OpBeforeWith:       -1,
		HeapTypeCachedKeys: 880, HeapTypeQualname: 872,
		GILInterval: 0, GILLastHolder: 8, GILLocked: 16, GILSwitches: 24, LockLockAddr: false,
	}
}

func layout311() *Layout {
	l := newCommon()
	l.Minor = 11
	l.RuntimeMainThread, l.RuntimeGILCurrent, l.RuntimeGIL = 80, 576, 360
	l.InterpThreadsHead, l.InterpModules, l.InterpSysdict = 16, 888, 904
	l.InterpID, l.InterpGC, l.InterpFinalizing = 48, 648, 84
	l.CFrameCurrentFrame = 8
	l.TstateSize = 360
	// 3.11 frames: f_func 0, f_globals 8, f_builtins 16, f_locals 24, f_code 32,
	// frame_obj 40, previous 48, prev_instr 56, stacktop 64, is_entry 68, owner 69.
	l.IFCode, l.IFPrevious, l.IFFrameObj, l.IFIsEntry, l.IFOwner = 32, 48, 40, 68, 69
	l.FrameGlobals = 8
	l.OwnerCStack = 99 // 3.11 has no shim frames
	l.OwnerEntryShim = -1
	l.CFramePrevious = 16 // _PyCFrame {use_tracing, current_frame, previous}
	l.CodeFirstTrace = 168
	l.CoFirstlineno, l.CoNlocalsplus, l.CoCodeAdaptive = 72, 76, 184
	// co_flags 48, co_warmup 52, _co_linearray_entry_size 54, then the
	// argument counts: co_stacksize sits 4 bytes later than from 3.12 on.
	l.CoStacksize = 68
	l.OpBeforeWith, l.WithEnterExit = 53, true
	l.CoArgcount, l.CoKwonlyargcount = 56, 64
	l.StrASCIIData, l.StrCompactData = 48, 72
	l.IntNewLayout = false
	l.HeapTypeCachedKeys, l.HeapTypeQualname = 872, 864
	l.ManagedDict = 11
	l.LockLockAddr = true
	// JUMP_BACKWARD, its quickened JUMP_BACKWARD_QUICK, JUMP_BACKWARD_NO_INTERRUPT,
	// POP_JUMP_BACKWARD_IF_NOT_NONE/_NONE/_FALSE/_TRUE: no caches.
	l.OpExtendedArg = 144
	l.OpJumpBack = map[byte]int{140: 0, 38: 0, 134: 0, 173: 0, 174: 0, 175: 0, 176: 0}
	return &l
}

func layout312() *Layout {
	l := newCommon()
	l.Minor = 12
	l.RuntimeMainThread = 64
	l.InterpThreadsHead, l.InterpModules, l.InterpSysdict, l.InterpGILPtr = 72, 944, 352, 384
	l.InterpID, l.InterpGC, l.InterpFinalizing = 8, 112, 104
	l.CFrameCurrentFrame = 0
	l.CFramePrevious = 8 // _PyCFrame {current_frame, previous}
	l.TstateThreadID, l.TstateNativeThreadID = 136, 144
	l.TstateSize = 288
	l.CodeFirstTrace = 176
	l.CoCodeAdaptive = 192
	l.ManagedDict = 12
	l.OpBeforeWith = 53
	l.LockLockAddr = true
	// JUMP_BACKWARD, JUMP_BACKWARD_NO_INTERRUPT, INSTRUMENTED_JUMP_BACKWARD.
	l.OpExtendedArg = 144
	l.OpJumpBack = map[byte]int{140: 0, 134: 0, 246: 0}
	return &l
}

func layout313() *Layout {
	l := newCommon()
	l.Minor = 13
	l.RuntimeInterpHead, l.RuntimeMainThread, l.RuntimeInterpMain, l.RuntimeFinalizing = 632, 656, 640, 608
	l.InterpNext, l.InterpThreadsHead, l.InterpModules, l.InterpSysdict, l.InterpGILPtr = 7264, 7344, 7656, 7640, 16
	l.InterpID, l.InterpGC, l.InterpFinalizing = 7272, 7400, 7384
	l.TstateFrame = 72
	l.TstateSize = 304
	l.CodeFirstTrace = 184
	l.CoCodeAdaptive = 200
	l.ManagedDict = 13
	l.ValuesHeader = 8
	l.OpBeforeWith = 2 // 3.13 renumbered every opcode
	// 3.13.0 still has the sem_t-based lock; 3.13.1+ a PyMutex. Fixed up from
	// the micro version by ForVersion.
	l.LockLockAddr = false
	// JUMP_BACKWARD (one cache unit), JUMP_BACKWARD_NO_INTERRUPT,
	// INSTRUMENTED_JUMP_BACKWARD (one cache unit).
	l.OpExtendedArg = 71
	l.OpJumpBack = map[byte]int{77: 1, 78: 0, 249: 1}
	return &l
}

func layout314() *Layout {
	l := newCommon()
	l.Minor = 14
	l.RuntimeInterpHead, l.RuntimeMainThread, l.RuntimeInterpMain, l.RuntimeFinalizing = 808, 832, 816, 784
	l.InterpNext, l.InterpThreadsHead, l.InterpModules, l.InterpSysdict, l.InterpGILPtr = 7272, 7344, 7688, 7672, 16
	// No DWARF for 3.14 here: id and gc from _Py_DebugOffsets [DO 3.14.10];
	// _finalizing (followed by _finalizing_id) and gc.callbacks found in a
	// running 3.14.10 and checked by state_interp_test.go.
	l.InterpID, l.InterpGC, l.InterpFinalizing = 7280, 7408, 7392
	l.GCCollecting, l.GCCallbacks = 192, 208
	l.TstateFrame = 72
	l.TstateSize = 832
	l.IFStacktop, l.IFStackpointer, l.IFOwner, l.IFLocalsplus = -1, 64, 74, 80
	l.OwnerCStack = 3 // INTERPRETER 3, CSTACK 4
	l.StackRefTagged = true
	l.CodeFirstTrace = 192
	l.CoCodeAdaptive = 208
	l.TupleItems = 32
	l.ManagedDict = 13
	l.ValuesHeader = 8
	l.RLockMutex = true
	// CALL 52, CALL_KW 55; CALL_ALLOC_AND_ENTER_INIT … CALL_ISINSTANCE
	// 143–150, CALL_KW_BOUND_METHOD … CALL_KW_PY 151–153, CALL_LEN …
	// CALL_TYPE_1 154–165; INSTRUMENTED_CALL 250, INSTRUMENTED_CALL_KW 251.
	l.CallOps = []uint8{52, 143, 144, 145, 146, 147, 148, 149, 150, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 164, 165, 250}
	l.CallKWOps = []uint8{55, 151, 152, 153, 251}
	// JUMP_BACKWARD and its specialisations JUMP_BACKWARD_JIT/_NO_JIT (one
	// cache unit), JUMP_BACKWARD_NO_INTERRUPT, INSTRUMENTED_JUMP_BACKWARD.
	l.OpExtendedArg = 69
	l.OpJumpBack = map[byte]int{75: 1, 175: 1, 176: 1, 76: 0, 253: 1}
	return &l
}

// ForVersion returns the layout for an exact version, with patch-level fixes.
func ForVersion(v Version) (*Layout, error) {
	if v.Major != 3 {
		return nil, &UnsupportedError{Version: v.String()}
	}
	l, err := LayoutFor(v.Minor)
	if err != nil {
		return nil, &UnsupportedError{Version: v.String()}
	}
	if v.Minor == 13 && v.Micro == 0 {
		// gh-125110: _thread.lock became a PyMutex in 3.13.1.
		l.LockLockAddr = true
	}
	if v.Minor == 13 && v.Micro > 0 {
		// A 3.13 patch release appended datastack_cached_chunk to
		// PyThreadState: 312 bytes in 3.13.18 (DWARF of Debian's
		// python3.13-dbg); which release did is not known here.
		l.TstateSize = -1
		if v.Micro >= 18 {
			l.TstateSize = 312
		}
	}
	return l, nil
}
