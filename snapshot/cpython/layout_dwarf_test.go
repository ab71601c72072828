package cpython

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
	"github.com/pyhang/pyhang/snapshot/elfsym"
)

// latest stands for "every later version" in the version ranges below.
const latest = 99

// fieldPath says where the DWARF of 3.from–3.to has one Layout field.
type fieldPath struct {
	field     string // Layout field name
	from, to  int    // minor versions
	typ, path string // struct (tag or typedef name) and dotted member path, or sizeOf
	size      int64  // member size as pyhang reads it; 0 = not checked
}

// layoutPaths maps each int64 field of Layout to its C member per version.
// A field whose table value is -1 for a version is skipped there.
var layoutPaths = []fieldPath{
	{"RuntimeInterpHead", 8, latest, "_PyRuntimeState", "interpreters.head", 8},
	{"RuntimeMainThread", 8, latest, "_PyRuntimeState", "main_thread", 8},
	{"RuntimeGILCurrent", 8, 11, "_PyRuntimeState", "gilstate.tstate_current", 8},
	{"RuntimeGIL", 8, 11, "_PyRuntimeState", "ceval.gil", 0},
	{"RuntimeInterpMain", 8, latest, "_PyRuntimeState", "interpreters.main", 8},
	{"RuntimeFinalizing", 8, 8, "_PyRuntimeState", "finalizing", 8},
	{"RuntimeFinalizing", 9, latest, "_PyRuntimeState", "_finalizing", 8},
	{"RuntimeGC", 8, 8, "_PyRuntimeState", "gc", 0},
	{"InterpID", 8, latest, "_is", "id", 8},
	{"InterpGC", 9, latest, "_is", "gc", 0},
	{"InterpFinalizing", 8, 11, "_is", "finalizing", 4},
	{"InterpFinalizing", 12, latest, "_is", "_finalizing", 8},
	{"GCCollecting", 8, latest, "_gc_runtime_state", "collecting", 4},
	{"GCCallbacks", 8, latest, "_gc_runtime_state", "callbacks", 8},

	{"InterpNext", 8, latest, "_is", "next", 8},
	{"InterpThreadsHead", 8, 10, "_is", "tstate_head", 8},
	{"InterpThreadsHead", 11, latest, "_is", "threads.head", 8},
	{"InterpModules", 8, 11, "_is", "modules", 8},
	{"InterpModules", 12, latest, "_is", "imports.modules", 8},
	{"InterpSysdict", 8, latest, "_is", "sysdict", 8},
	{"InterpGILPtr", 12, latest, "_is", "ceval.gil", 8},

	{"TstateNext", 8, latest, "_ts", "next", 8},
	{"TstateInterp", 8, latest, "_ts", "interp", 8},
	{"TstateFrame", 8, 10, "_ts", "frame", 8},
	{"TstateFrame", 11, 12, "_ts", "cframe", 8},
	{"TstateFrame", 13, latest, "_ts", "current_frame", 8},
	{"CFrameCurrentFrame", 11, 12, "_PyCFrame", "current_frame", 8},
	{"CFramePrevious", 11, 12, "_PyCFrame", "previous", 8},
	{"TstateThreadID", 8, latest, "_ts", "thread_id", 8},
	{"TstateNativeThreadID", 11, latest, "_ts", "native_thread_id", 8},
	{"TstateSize", 8, latest, "_ts", sizeOf, 0},

	// struct _frame is PyFrameObject up to 3.10 only.
	{"FBack", 8, 10, "_frame", "f_back", 8},
	{"FCode", 8, 10, "_frame", "f_code", 8},
	{"FuncCode", 8, latest, "PyFunctionObject", "func_code", 8},
	{"FuncQualname", 8, latest, "PyFunctionObject", "func_qualname", 8},
	{"FuncClosure", 8, latest, "PyFunctionObject", "func_closure", 8},
	{"HeapTypeQualname", 8, latest, "PyHeapTypeObject", "ht_qualname", 8},
	{"FValuestack", 8, 10, "_frame", "f_valuestack", 8},
	{"FLasti", 8, 10, "_frame", "f_lasti", 4},
	{"FIblock", 8, 10, "_frame", "f_iblock", 4},
	{"FBlockstack", 8, 10, "_frame", "f_blockstack", 12 * maxBlocks}, // PyTryBlock[CO_MAXBLOCKS]
	{"FLocalsplus", 8, 10, "_frame", "f_localsplus", 0},
	{"FStacktop", 8, 9, "_frame", "f_stacktop", 8},
	{"FStackdepth", 10, 10, "_frame", "f_stackdepth", 4},
	{"FrameGlobals", 8, 10, "_frame", "f_globals", 8},
	{"FrameGlobals", 11, latest, "_PyInterpreterFrame", "f_globals", 8},

	{"IFCode", 11, 12, "_PyInterpreterFrame", "f_code", 8},
	{"IFCode", 13, latest, "_PyInterpreterFrame", "f_executable", 8},
	{"IFPrevious", 11, latest, "_PyInterpreterFrame", "previous", 8},
	{"IFFrameObj", 11, latest, "_PyInterpreterFrame", "frame_obj", 8},
	{"IFInstr", 11, 12, "_PyInterpreterFrame", "prev_instr", 8},
	{"IFInstr", 13, latest, "_PyInterpreterFrame", "instr_ptr", 8},
	{"IFOwner", 11, latest, "_PyInterpreterFrame", "owner", 1},
	{"IFLocalsplus", 11, latest, "_PyInterpreterFrame", "localsplus", 0},
	{"IFStacktop", 11, 13, "_PyInterpreterFrame", "stacktop", 4},
	{"IFStackpointer", 14, latest, "_PyInterpreterFrame", "stackpointer", 8},
	{"IFIsEntry", 11, 11, "_PyInterpreterFrame", "is_entry", 1},
	{"CodeFirstTrace", 11, latest, "PyCodeObject", "_co_firsttraceable", 4},
	{"FrameObjFrame", 11, latest, "_frame", "f_frame", 8},

	{"CoArgcount", 8, latest, "PyCodeObject", "co_argcount", 4},
	{"CoNlocals", 8, 10, "PyCodeObject", "co_nlocals", 4},
	{"CoKwonlyargcount", 8, latest, "PyCodeObject", "co_kwonlyargcount", 4},
	{"CoFlags", 8, latest, "PyCodeObject", "co_flags", 4},
	{"CoFirstlineno", 8, latest, "PyCodeObject", "co_firstlineno", 4},
	{"CoVarnames", 8, 10, "PyCodeObject", "co_varnames", 8},
	{"CoCellvars", 8, 10, "PyCodeObject", "co_cellvars", 8},
	{"CoFreevars", 8, 10, "PyCodeObject", "co_freevars", 8},
	{"CoFilename", 8, latest, "PyCodeObject", "co_filename", 8},
	{"CoName", 8, latest, "PyCodeObject", "co_name", 8},
	{"CoQualname", 11, latest, "PyCodeObject", "co_qualname", 8},
	{"CoLinetable", 8, 9, "PyCodeObject", "co_lnotab", 8},
	{"CoLinetable", 10, latest, "PyCodeObject", "co_linetable", 8},
	{"CoExceptiontable", 11, latest, "PyCodeObject", "co_exceptiontable", 8},
	{"CoNlocalsplus", 11, latest, "PyCodeObject", "co_nlocalsplus", 4},
	{"CoLocalsNames", 11, latest, "PyCodeObject", "co_localsplusnames", 8},
	{"CoLocalsKinds", 11, latest, "PyCodeObject", "co_localspluskinds", 8},
	{"CoCode", 8, 10, "PyCodeObject", "co_code", 8},
	{"CoCodeAdaptive", 11, latest, "PyCodeObject", "co_code_adaptive", 0},
	{"CoStacksize", 8, latest, "PyCodeObject", "co_stacksize", 4},

	// A compact str's characters follow the struct.
	{"StrASCIIData", 8, latest, "PyASCIIObject", sizeOf, 0},
	{"StrCompactData", 8, latest, "PyCompactUnicodeObject", sizeOf, 0},
	{"TupleItems", 8, latest, "PyTupleObject", "ob_item", 0},
	{"HeapTypeCachedKeys", 8, latest, "PyHeapTypeObject", "ht_cached_keys", 8},
	{"ValuesHeader", 11, latest, "_dictvalues", "values", 0},

	{"GILInterval", 8, latest, "_gil_runtime_state", "interval", 8},
	{"GILLastHolder", 8, latest, "_gil_runtime_state", "last_holder", 8},
	{"GILLocked", 8, latest, "_gil_runtime_state", "locked", 4},
	{"GILSwitches", 8, latest, "_gil_runtime_state", "switch_number", 8},
}

// offsetCheck is one offset pyhang uses, compared with DWARF.
type offsetCheck struct {
	what      string // where pyhang uses it: "Layout.InterpNext", "objects.go tpFlags"
	want      int64  // byte offset, or bit offset if bit
	module    string // "" the interpreter's libpython; else an extension module under lib-dynload
	typ, path string
	size      int64 // member size in bytes (bit-field width if bit); 0 = not checked
	bit       bool
	optional  bool // the type may be absent (module not compiled in, no DWARF)
}

// constCheck is an offset written as a constant or literal in the decoders,
// valid for 3.from–3.to.
type constCheck struct {
	from, to int
	c        offsetCheck
}

// constChecks lists the version-independent offsets of objects.go,
// interest.go, withblocks.go, frames.go and code.go.
var constChecks = []constCheck{
	{8, latest, offsetCheck{what: "objects.go obType", want: obType, typ: "PyObject", path: "ob_type", size: 8}},
	{8, latest, offsetCheck{what: "objects.go obSize", want: obSize, typ: "PyVarObject", path: "ob_size", size: 8}},
	{8, latest, offsetCheck{what: "objects.go tpName", want: tpName, typ: "_typeobject", path: "tp_name", size: 8}},
	{8, latest, offsetCheck{what: "objects.go tpBasicsize", want: tpBasicsize, typ: "_typeobject", path: "tp_basicsize", size: 8}},
	{8, latest, offsetCheck{what: "objects.go tpFlags", want: tpFlags, typ: "_typeobject", path: "tp_flags", size: 8}},
	{8, latest, offsetCheck{what: "objects.go tpDict", want: tpDict, typ: "_typeobject", path: "tp_dict", size: 8}},
	{8, latest, offsetCheck{what: "objects.go tpDictoffset", want: tpDictoffset, typ: "_typeobject", path: "tp_dictoffset", size: 8}},
	{8, latest, offsetCheck{what: "interest.go tpBase", want: tpBase, typ: "_typeobject", path: "tp_base", size: 8}},
	{8, latest, offsetCheck{what: "slots.go tpMembers", want: tpMembers, typ: "_typeobject", path: "tp_members", size: 8}},
	{8, latest, offsetCheck{what: "slots.go memberType", want: memberType, typ: "PyMemberDef", path: "type", size: 4}},
	{8, latest, offsetCheck{what: "slots.go memberOffset", want: memberOffset, typ: "PyMemberDef", path: "offset", size: 8}},
	{8, latest, offsetCheck{what: "slots.go memberDefSize: doc, the last member, ends it", want: memberDefSize - 8, typ: "PyMemberDef", path: "doc", size: 8}},
	{8, latest, offsetCheck{what: "objects.go floatValue", want: floatValue, typ: "PyFloatObject", path: "ob_fval", size: 8}},
	{8, latest, offsetCheck{what: "objects.go complexReal", want: complexReal, typ: "PyComplexObject", path: "cval.real", size: 8}},
	{8, latest, offsetCheck{what: "objects.go complexImag", want: complexImag, typ: "PyComplexObject", path: "cval.imag", size: 8}},
	{8, latest, offsetCheck{what: "objects.go bytesSval", want: bytesSval, typ: "PyBytesObject", path: "ob_sval"}},
	{8, latest, offsetCheck{what: "objects.go listItems", want: listItems, typ: "PyListObject", path: "ob_item", size: 8}},
	{8, latest, offsetCheck{what: "objects.go moduleDict", want: moduleDict, typ: "PyModuleObject", path: "md_dict", size: 8}},
	{8, latest, offsetCheck{what: "objects.go dictUsed", want: dictUsed, typ: "PyDictObject", path: "ma_used", size: 8}},
	{8, latest, offsetCheck{what: "objects.go dictKeys", want: dictKeys, typ: "PyDictObject", path: "ma_keys", size: 8}},
	{8, latest, offsetCheck{what: "objects.go dictValues", want: dictValues, typ: "PyDictObject", path: "ma_values", size: 8}},
	{8, latest, offsetCheck{what: "objects.go strLength", want: strLength, typ: "PyASCIIObject", path: "length", size: 8}},
	{8, latest, offsetCheck{what: "objects.go strState", want: strState, typ: "PyASCIIObject", path: "state"}},
	// str() decodes state>>2&7, state>>5&1, state>>6&1.
	{8, latest, offsetCheck{what: "objects.go str kind bits", want: strState*8 + 2, typ: "PyASCIIObject", path: "state.kind", size: 3, bit: true}},
	{8, latest, offsetCheck{what: "objects.go str compact bit", want: strState*8 + 5, typ: "PyASCIIObject", path: "state.compact", size: 1, bit: true}},
	{8, latest, offsetCheck{what: "objects.go str ascii bit", want: strState*8 + 6, typ: "PyASCIIObject", path: "state.ascii", size: 1, bit: true}},
	// intObj reads the digits at obj+24.
	{8, 11, offsetCheck{what: "objects.go intObj digits", want: 24, typ: "_longobject", path: "ob_digit"}},
	{12, latest, offsetCheck{what: "objects.go intObj digits", want: 24, typ: "_longobject", path: "long_value.ob_digit"}},
	// keysItems: PyDictKeysObject header and entries.
	{8, 10, offsetCheck{what: "objects.go keysItems dk_size", want: 8, typ: "_dictkeysobject", path: "dk_size", size: 8}},
	{8, 10, offsetCheck{what: "objects.go keysItems dk_nentries", want: 32, typ: "_dictkeysobject", path: "dk_nentries", size: 8}},
	{8, 10, offsetCheck{what: "objects.go keysItems dk_indices", want: 40, typ: "_dictkeysobject", path: "dk_indices"}},
	{11, latest, offsetCheck{what: "objects.go keysItems dk_log2_index_bytes", want: 9, typ: "_dictkeysobject", path: "dk_log2_index_bytes", size: 1}},
	{11, latest, offsetCheck{what: "objects.go keysItems dk_kind", want: 10, typ: "_dictkeysobject", path: "dk_kind", size: 1}},
	{11, latest, offsetCheck{what: "objects.go keysItems dk_nentries", want: 24, typ: "_dictkeysobject", path: "dk_nentries", size: 8}},
	{11, latest, offsetCheck{what: "objects.go keysItems dk_indices", want: 32, typ: "_dictkeysobject", path: "dk_indices"}},
	{8, latest, offsetCheck{what: "objects.go keysItems entry me_key", want: 8, typ: "PyDictKeyEntry", path: "me_key", size: 8}},
	{8, latest, offsetCheck{what: "objects.go keysItems entry me_value", want: 16, typ: "PyDictKeyEntry", path: "me_value", size: 8}},
	{8, latest, offsetCheck{what: "objects.go keysItems entry size", want: 24, typ: "PyDictKeyEntry", path: sizeOf}},
	{11, latest, offsetCheck{what: "objects.go keysItems unicode entry me_key", want: 0, typ: "PyDictUnicodeEntry", path: "me_key", size: 8}},
	{11, latest, offsetCheck{what: "objects.go keysItems unicode entry me_value", want: 8, typ: "PyDictUnicodeEntry", path: "me_value", size: 8}},
	{11, latest, offsetCheck{what: "objects.go keysItems unicode entry size", want: 16, typ: "PyDictUnicodeEntry", path: sizeOf}},

	// withblocks.go boundExitSelf / isUnboundExit / functionName, withOld.
	{8, latest, offsetCheck{what: "loop.go cfuncML", want: cfuncML, typ: "PyCFunctionObject", path: "m_ml", size: 8}},
	{8, latest, offsetCheck{what: "loop.go cfuncSelf", want: cfuncSelf, typ: "PyCFunctionObject", path: "m_self", size: 8}},
	{8, latest, offsetCheck{what: "withblocks.go PyCFunctionObject.m_ml", want: 16, typ: "PyCFunctionObject", path: "m_ml", size: 8}},
	{8, latest, offsetCheck{what: "withblocks.go PyCFunctionObject.m_self", want: 24, typ: "PyCFunctionObject", path: "m_self", size: 8}},
	{8, latest, offsetCheck{what: "withblocks.go PyMethodDef.ml_name", want: 0, typ: "PyMethodDef", path: "ml_name", size: 8}},
	{8, latest, offsetCheck{what: "withblocks.go PyMethodObject.im_func", want: 16, typ: "PyMethodObject", path: "im_func", size: 8}},
	{8, latest, offsetCheck{what: "withblocks.go PyMethodObject.im_self", want: 24, typ: "PyMethodObject", path: "im_self", size: 8}},
	{8, latest, offsetCheck{what: "withblocks.go method_descriptor d_name", want: 24, typ: "PyMethodDescrObject", path: "d_common.d_name", size: 8}},
	{8, latest, offsetCheck{what: "withblocks.go wrapper_descriptor d_name", want: 24, typ: "PyWrapperDescrObject", path: "d_common.d_name", size: 8}},
	{8, latest, offsetCheck{what: "calling.go method_descriptor d_type", want: 16, typ: "PyMethodDescrObject", path: "d_common.d_type", size: 8}},
	{8, 10, offsetCheck{what: "withblocks.go withOld PyTryBlock.b_type", want: 0, typ: "PyTryBlock", path: "b_type", size: 4}},
	{8, 10, offsetCheck{what: "withblocks.go withOld PyTryBlock.b_level", want: 8, typ: "PyTryBlock", path: "b_level", size: 4}},
	{8, 10, offsetCheck{what: "withblocks.go withOld PyTryBlock size", want: 12, typ: "PyTryBlock", path: sizeOf}},

	// frames.go: a cell's contents.
	{8, latest, offsetCheck{what: "frames.go PyCellObject.ob_ref", want: 16, typ: "PyCellObject", path: "ob_ref", size: 8}},

	// process.go detectVersion: the _Py_DebugOffsets cookie and version.
	{13, latest, offsetCheck{what: "process.go debug offsets cookie", want: 0, typ: "_PyRuntimeState", path: "debug_offsets.cookie", size: 8}},
	{13, latest, offsetCheck{what: "process.go debug offsets version", want: 8, typ: "_PyRuntimeState", path: "debug_offsets.version", size: 8}},

	// interest.go: objects read by kindOf/add.
	{8, latest, offsetCheck{what: "interest.go deque length (obSize)", want: obSize, typ: "dequeobject", path: "ob_base.ob_size", size: 8, optional: true}},
	{13, latest, offsetCheck{what: "interest.go handlePtr", want: handlePtr, typ: "PyThreadHandleObject", path: "handle", size: 8, optional: true}},
	{13, latest, offsetCheck{what: "interest.go handleIdent (in the C ThreadHandle)", want: handleIdent, typ: "ThreadHandle", path: "ident", size: 8, optional: true}},
	{13, latest, offsetCheck{what: "interest.go handleEvent (in the C ThreadHandle)", want: handleEvent, typ: "ThreadHandle", path: "thread_is_exiting", size: 1, optional: true}},
	{8, latest, offsetCheck{what: "interest.go sockFD", want: sockFD, module: "_socket", typ: "PySocketSockObject", path: "sock_fd", size: 4, optional: true}},
	{8, latest, offsetCheck{what: "interest.go sockFamily", want: sockFamily, module: "_socket", typ: "PySocketSockObject", path: "sock_family", size: 4, optional: true}},
	{8, latest, offsetCheck{what: "interest.go sockTimeoutNS", want: sockTimeoutNS, module: "_socket", typ: "PySocketSockObject", path: "sock_timeout", size: 8, optional: true}},
	{8, 12, offsetCheck{what: "interest.go simpleQueue lock", want: 16, module: "_queue", typ: "simplequeueobject", path: "lock", size: 8, optional: true}},
	{8, 12, offsetCheck{what: "procobjects.go sqLst", want: sqLst, module: "_queue", typ: "simplequeueobject", path: "lst", size: 8, optional: true}},
	{8, 12, offsetCheck{what: "procobjects.go sqLstPos", want: sqLstPos, module: "_queue", typ: "simplequeueobject", path: "lst_pos", size: 8, optional: true}},
	{13, latest, offsetCheck{what: "procobjects.go sqRingGetIdx", want: sqRingGetIdx, module: "_queue", typ: "simplequeueobject", path: "buf.get_idx", size: 8, optional: true}},
	{13, latest, offsetCheck{what: "procobjects.go sqRingItems", want: sqRingItems, module: "_queue", typ: "simplequeueobject", path: "buf.items", size: 8, optional: true}},
	{13, latest, offsetCheck{what: "procobjects.go sqRingCap", want: sqRingCap, module: "_queue", typ: "simplequeueobject", path: "buf.items_cap", size: 8, optional: true}},
	{13, latest, offsetCheck{what: "procobjects.go sqRingNum", want: sqRingNum, module: "_queue", typ: "simplequeueobject", path: "buf.num_items", size: 8, optional: true}},
	{8, latest, offsetCheck{what: "procobjects.go dequeLeftBlock", want: dequeLeftBlock, typ: "dequeobject", path: "leftblock", size: 8, optional: true}},
	{8, latest, offsetCheck{what: "procobjects.go dequeLeftIndex", want: dequeLeftIndex, typ: "dequeobject", path: "leftindex", size: 8, optional: true}},
	{8, latest, offsetCheck{what: "procobjects.go dequeBlockData", want: dequeBlockData, typ: "BLOCK", path: "data", optional: true}},
	{8, latest, offsetCheck{what: "procobjects.go dequeBlockNext", want: dequeBlockNext, typ: "BLOCK", path: "rightlink", size: 8, optional: true}},
	{8, latest, offsetCheck{what: "procobjects.go methodFunc", want: methodFunc, typ: "PyMethodObject", path: "im_func", size: 8}},
	{8, latest, offsetCheck{what: "procobjects.go methodSelf", want: methodSelf, typ: "PyMethodObject", path: "im_self", size: 8}},
	{8, latest, offsetCheck{what: "procobjects.go setUsed", want: setUsed, typ: "PySetObject", path: "used", size: 8}},
	{8, latest, offsetCheck{what: "procobjects.go semLockHandle", want: semLockHandle, module: "_multiprocessing", typ: "SemLockObject", path: "handle", size: 8, optional: true}},
	{8, latest, offsetCheck{what: "semlock.go semLockLastTid", want: semLockLastTid, module: "_multiprocessing", typ: "SemLockObject", path: "last_tid", size: 8, optional: true}},
	{8, latest, offsetCheck{what: "semlock.go semLockCount", want: semLockCount, module: "_multiprocessing", typ: "SemLockObject", path: "count", size: 4, optional: true}},
	{8, latest, offsetCheck{what: "semlock.go semLockKind", want: semLockKind, module: "_multiprocessing", typ: "SemLockObject", path: "kind", size: 4, optional: true}},
	{13, latest, offsetCheck{what: "interest.go simpleQueue wait key", want: 16, module: "_queue", typ: "simplequeueobject", path: "has_threads_waiting", size: 1, optional: true}},
	{13, latest, offsetCheck{what: "interest.go simpleQueue length", want: 56, module: "_queue", typ: "simplequeueobject", path: "buf.num_items", size: 8, optional: true}},
}

// flagChecks turns the bool fields of l into the offsets they stand for.
func flagChecks(l *Layout) []offsetCheck {
	var out []offsetCheck
	add := func(what string, want int64, typ, path string, size int64, optional bool) {
		out = append(out, offsetCheck{what: "Layout." + what, want: want, typ: typ, path: path, size: size, optional: optional})
	}
	// intObj reads lv_tag (3.12+) or the signed size at ob_size.
	if l.IntNewLayout {
		add("IntNewLayout (lv_tag at obSize)", obSize, "_longobject", "long_value.lv_tag", 8, false)
	} else {
		add("IntNewLayout=false (ob_size at obSize)", obSize, "_longobject", "ob_base.ob_size", 8, false)
	}
	if l.DictNew {
		add("DictNew (dk_log2_size)", 8, "_dictkeysobject", "dk_log2_size", 1, false)
	} else {
		add("DictNew=false (dk_size)", 8, "_dictkeysobject", "dk_size", 8, false)
	}
	// lockState.
	if l.LockLockAddr {
		add("LockLockAddr (sem_t* lock_lock)", 16, "lockobject", "lock_lock", 8, true)
		add("LockLockAddr (char locked)", 32, "lockobject", "locked", 1, true)
	} else {
		add("LockLockAddr=false (PyMutex lock)", 16, "lockobject", "lock", 1, true)
	}
	if l.RLockMutex {
		add("RLockMutex (PyMutex)", 16, "rlockobject", "lock.mutex", 1, true)
		add("RLockMutex (thread)", 24, "rlockobject", "lock.thread", 8, true)
		add("RLockMutex (level)", 32, "rlockobject", "lock.level", 8, true)
	} else {
		add("RLockMutex=false (rlock_lock)", 16, "rlockobject", "rlock_lock", 8, true)
		add("RLockMutex=false (rlock_owner)", 24, "rlockobject", "rlock_owner", 8, true)
		add("RLockMutex=false (rlock_count)", 32, "rlockobject", "rlock_count", 8, true)
	}
	return out
}

// checkRun counts one interpreter's comparison.
type checkRun struct {
	t                                *testing.T
	in                               testinterp.Interp
	libs                             map[string]*dwarfTypes // "" and module names; nil = unavailable
	libErr                           map[string]string
	checked, mismatches, unavailable int
}

// TestLayoutDWARF compares the layout tables and the decoders' constant
// offsets with the DWARF of every interpreter built with debug information.
func TestLayoutDWARF(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			binDWARF := dwarfFile(in, in.Binary)
			if binDWARF == "" {
				t.Skipf("%s: skipped: %s has no .debug_info and no separate debug file", in.Name, in.Binary)
			}
			var micro int
			if _, err := fmt.Sscanf(in.Version, "3.%d.%d", new(int), &micro); err != nil {
				t.Fatalf("%s: version %q: %v", in.Name, in.Version, err)
			}
			l, err := ForVersion(Version{Major: 3, Minor: in.Minor, Micro: micro, Level: 0xf})
			if err != nil {
				t.Skipf("%s: skipped: %v", in.Name, err)
			}
			if binDWARF != in.Binary {
				// A release build's own debug file: the release layout.
				t.Logf("%s: DWARF from %s", in.Name, binDWARF)
			}
			dt, err := loadDWARF(binDWARF)
			if err != nil {
				t.Fatalf("%s: %v", in.Name, err)
			}
			r := &checkRun{t: t, in: in, libs: map[string]*dwarfTypes{"": dt}, libErr: map[string]string{}}
			r.layout(l)
			for _, c := range flagChecks(l) {
				r.check(c)
			}
			r.owners(l)
			r.entryShim(l)
			r.evalPerFrame(l)
			r.stackRef(l)
			for _, c := range constChecks {
				if in.Minor >= c.from && in.Minor <= c.to {
					r.check(c.c)
				}
			}
			t.Logf("%s: %d fields checked, %d mismatches, %d unavailable", in.Name, r.checked, r.mismatches, r.unavailable)
		})
	}
}

// layout checks every int64 field of l that has a DWARF path for this
// version, and logs the fields that have none.
func (r *checkRun) layout(l *Layout) {
	v := reflect.ValueOf(l).Elem()
	covered := map[string]bool{}
	for _, p := range layoutPaths {
		f := v.FieldByName(p.field)
		if !f.IsValid() || f.Kind() != reflect.Int64 {
			r.t.Fatalf("layoutPaths names %q, which is not an int64 field of Layout", p.field)
		}
		if r.in.Minor < p.from || r.in.Minor > p.to {
			continue
		}
		covered[p.field] = true
		if f.Int() == -1 {
			continue
		}
		r.check(offsetCheck{what: "Layout." + p.field, want: f.Int(), typ: p.typ, path: p.path, size: p.size})
	}
	var unchecked []string
	for i := 0; i < v.NumField(); i++ {
		sf := v.Type().Field(i)
		if sf.Type.Kind() == reflect.Int64 && !covered[sf.Name] && v.Field(i).Int() != -1 {
			unchecked = append(unchecked, fmt.Sprintf("%s=%d", sf.Name, v.Field(i).Int()))
		}
	}
	if len(unchecked) > 0 {
		sort.Strings(unchecked)
		r.t.Logf("%s: no DWARF path for %s", r.in.Name, strings.Join(unchecked, ", "))
	}
	r.t.Logf("%s: ManagedDict=%d is not checked (pre-header offsets and type flags are macros, not in DWARF)", r.in.Name, l.ManagedDict)
}

// owners checks the frame-owner values against enum _frameowner: owners at
// or above OwnerCStack are not Python frames (C-stack shims, 3.12+, and the
// interpreter's own entry frames, 3.14).
func (r *checkRun) owners(l *Layout) {
	if r.in.Minor < 11 {
		return
	}
	dt := r.libs[""]
	gen, ok := dt.enums["FRAME_OWNED_BY_GENERATOR"]
	if !ok {
		r.unavailable++
		r.t.Logf("%s: enum _frameowner not in DWARF; OwnerGenerator/OwnerCStack not checked", r.in.Name)
		return
	}
	r.checked++
	if int64(l.OwnerGenerator) != gen {
		r.mismatches++
		r.t.Errorf("%s: Layout.OwnerGenerator = %d, DWARF FRAME_OWNED_BY_GENERATOR = %d", r.in.Name, l.OwnerGenerator, gen)
	}
	want, name := int64(-1), ""
	for _, n := range []string{"FRAME_OWNED_BY_CSTACK", "FRAME_OWNED_BY_INTERPRETER"} {
		if v, ok := dt.enums[n]; ok && (want < 0 || v < want) {
			want, name = v, n
		}
	}
	r.checked++
	if want >= 0 {
		if int64(l.OwnerCStack) != want {
			r.mismatches++
			r.t.Errorf("%s: Layout.OwnerCStack = %d, DWARF %s = %d", r.in.Name, l.OwnerCStack, name, want)
		}
		return
	}
	// No non-Python owner: OwnerCStack must be above every owner value.
	for n, v := range dt.enums {
		if strings.HasPrefix(n, "FRAME_OWNED_BY_") && v >= int64(l.OwnerCStack) {
			r.mismatches++
			r.t.Errorf("%s: Layout.OwnerCStack = %d, but DWARF %s = %d is a Python frame's owner", r.in.Name, l.OwnerCStack, n, v)
		}
	}
}

// entryShimOwner names the owner the interpreter loop gives the entry frame it
// pushes on its own C stack: Python/ceval.c, `entry_frame.owner =
// FRAME_OWNED_BY_CSTACK` (3.12, 3.13), `entry.frame.owner =
// FRAME_OWNED_BY_INTERPRETER` (3.14). 3.11 has none.
var entryShimOwner = map[int]string{12: "FRAME_OWNED_BY_CSTACK", 13: "FRAME_OWNED_BY_CSTACK", 14: "FRAME_OWNED_BY_INTERPRETER"}

// entryShim checks OwnerEntryShim against the enumerator the loop uses.
func (r *checkRun) entryShim(l *Layout) {
	name, ok := entryShimOwner[r.in.Minor]
	if !ok {
		if l.OwnerEntryShim >= 0 {
			r.mismatches++
			r.t.Errorf("%s: Layout.OwnerEntryShim = %d, but 3.%d pushes no entry frame", r.in.Name, l.OwnerEntryShim, r.in.Minor)
		}
		return
	}
	v, ok := r.libs[""].enums[name]
	r.checked++
	if !ok || int64(l.OwnerEntryShim) != v {
		r.mismatches++
		r.t.Errorf("%s: Layout.OwnerEntryShim = %d, DWARF %s = %d (present %v)", r.in.Name, l.OwnerEntryShim, name, v, ok)
	}
}

// evalPerFrame checks EvalPerFrame against the interpreter loop's parameters:
// before 3.11 it takes a frame object (PyFrameObject *f) and runs that frame
// alone; from 3.11 it takes a _PyInterpreterFrame, and runs inlined calls on
// it until it returns.
func (r *checkRun) evalPerFrame(l *Layout) {
	params, ok := r.libs[""].params[l.EvalFunction]
	if !ok {
		r.unavailable++
		r.t.Logf("%s: %s has no typed parameters in DWARF; EvalPerFrame not checked", r.in.Name, l.EvalFunction)
		return
	}
	r.checked++
	interp := false
	for _, p := range params {
		if strings.Contains(p, "_PyInterpreterFrame") {
			interp = true
		}
	}
	r.t.Logf("%s: %s(%s): EvalPerFrame = %v", r.in.Name, l.EvalFunction, strings.Join(params, ", "), l.EvalPerFrame)
	if interp == l.EvalPerFrame {
		r.mismatches++
		r.t.Errorf("%s: Layout.EvalPerFrame = %v, but %s takes (%s)", r.in.Name, l.EvalPerFrame, l.EvalFunction, strings.Join(params, ", "))
	}
}

// TestEvalFunctionExported: the interpreter loop that runs Python frames is a
// function every build exports, stripped or not, so native stacks name it.
func TestEvalFunctionExported(t *testing.T) {
	for _, in := range testinterp.All(t) {
		l, err := LayoutFor(in.Minor)
		if err != nil {
			t.Errorf("%s: %v", in.Name, err)
			continue
		}
		f, err := elf.Open(in.Binary)
		if err != nil {
			t.Errorf("%s: %v", in.Name, err)
			continue
		}
		syms, _ := f.DynamicSymbols()
		f.Close()
		found := false
		for _, s := range syms {
			if s.Name == l.EvalFunction && elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value != 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %s does not export %s", in.Name, in.Binary, l.EvalFunction)
		}
		t.Logf("%s: %s exports %s", in.Name, filepath.Base(in.Binary), l.EvalFunction)
	}
}

// stackRef checks StackRefTagged against the type of f_executable.
func (r *checkRun) stackRef(l *Layout) {
	if r.in.Minor < 13 {
		return
	}
	m, err := r.libs[""].memberOf("_PyInterpreterFrame", "f_executable")
	r.checked++
	if err != nil {
		r.mismatches++
		r.t.Errorf("%s: Layout.StackRefTagged: %v", r.in.Name, err)
		return
	}
	if tagged := strings.Contains(m.Type, "_PyStackRef"); tagged != l.StackRefTagged {
		r.mismatches++
		r.t.Errorf("%s: Layout.StackRefTagged = %v, DWARF _PyInterpreterFrame.f_executable is %s", r.in.Name, l.StackRefTagged, m.Type)
	}
}

// check compares one offset with DWARF and reports a mismatch with both values.
func (r *checkRun) check(c offsetCheck) {
	dt := r.lib(c.module)
	where := r.in.Name + ": " + c.what
	if dt == nil {
		r.unavailable++
		r.t.Logf("%s: unavailable: %s", where, r.libErr[c.module])
		return
	}
	m, err := dt.memberOf(c.typ, c.path)
	if err != nil {
		if c.optional && errors.Is(err, errNoType) {
			r.unavailable++
			r.t.Logf("%s: unavailable in %s: %v", where, filepath.Base(dt.path), err)
			return
		}
		r.checked++
		r.mismatches++
		r.t.Errorf("%s = %d: %v%s", where, c.want, err, dt.describe(c.typ))
		return
	}
	r.checked++
	got, gotSize := m.Off, m.Size
	if c.bit {
		got, gotSize = m.Bit, m.Bits
	}
	if c.path == sizeOf {
		got = m.Size
	}
	var bad []string
	if got != c.want {
		bad = append(bad, fmt.Sprintf("table %d, DWARF %d", c.want, got))
	}
	if c.size != 0 && c.path != sizeOf && gotSize != c.size {
		bad = append(bad, fmt.Sprintf("size: pyhang reads %d, DWARF %d (%s)", c.size, gotSize, m.Type))
	}
	if len(bad) > 0 {
		r.mismatches++
		r.t.Errorf("%s: %s.%s: %s", where, c.typ, c.path, strings.Join(bad, "; "))
	}
}

// lib returns the DWARF for module ("" = the interpreter's libpython), nil if
// it has none. An extension module is looked for in lib-dynload; a module
// compiled into libpython has its types there.
func (r *checkRun) lib(module string) *dwarfTypes {
	if dt, ok := r.libs[module]; ok {
		return dt
	}
	r.libs[module] = r.libs[""]
	path := dwarfFile(r.in, extModule(r.in, module))
	if path == "" {
		return r.libs[""]
	}
	dt, err := loadDWARF(path)
	if err != nil {
		r.libs[module], r.libErr[module] = nil, err.Error()
		return nil
	}
	r.libs[module] = dt
	r.t.Logf("%s: %s types from %s", r.in.Name, module, path)
	return dt
}

// dwarfFile returns where the DWARF of the ELF file path is: the file itself, or its
// separate debug file (by build-id) in the interpreter's debug folder; "" when neither.
func dwarfFile(in testinterp.Interp, path string) string {
	if path == "" {
		return ""
	}
	f, err := elf.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if f.Section(".debug_info") != nil {
		return path
	}
	if in.DebugDir == "" {
		return ""
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE || p.Filesz > 1<<16 {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			continue
		}
		if id := elfsym.FindBuildID(b); len(id) > 2 {
			dbg := filepath.Join(in.DebugDir, ".build-id", id[:2], id[2:]+".debug")
			if _, err := os.Stat(dbg); err == nil {
				return dbg
			}
		}
	}
	return ""
}

// extModule finds module's shared object next to the interpreter:
// lib/python3.X/lib-dynload/module.cpython-3X-*.so.
func extModule(in testinterp.Interp, module string) string {
	pyDir := fmt.Sprintf("python3.%d", in.Minor)
	dirs := []string{
		filepath.Join(filepath.Dir(in.Binary), pyDir, "lib-dynload"),                  // shared: lib/libpython3.X.so
		filepath.Join(filepath.Dir(in.Binary), "..", "lib", pyDir, "lib-dynload"),     // static: bin/python3.X
		filepath.Join(filepath.Dir(in.Binary), "..", "lib", "python3", "lib-dynload"), // Debian's layout
	}
	for _, d := range dirs {
		if m, _ := filepath.Glob(filepath.Join(d, module+".cpython-*.so")); len(m) > 0 {
			return m[0]
		}
	}
	return ""
}

// describe lists a struct's members with offsets, for a failure message.
func (dt *dwarfTypes) describe(typ string) string {
	st, err := dt.lookup(typ)
	if err != nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n\t%s (%d bytes):", typ, st.ByteSize)
	for i, f := range st.Field {
		if i == 40 {
			b.WriteString("\n\t  …")
			break
		}
		fmt.Fprintf(&b, "\n\t  %4d %-24s %s", f.ByteOffset, f.Name, f.Type)
	}
	return b.String()
}
