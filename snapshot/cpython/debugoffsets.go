package cpython

import (
	"fmt"
)

// The _Py_DebugOffsets structure that starts _PyRuntime in 3.13+ (see
// Include/internal/pycore_debug_offsets.h). Each group is a list of u64, the
// first being sizeof the struct it describes. The field lists name each slot
// in order; "" marks slots pyhang does not use.
var debugGroups = map[int][]debugGroup{
	13: {
		{"runtime_state", 24, []string{"size", "finalizing", "interpreters_head"}},
		{"interpreter_state", 48, []string{"size", "id", "next", "threads_head", "gc", "imports_modules", "sysdict", "builtins", "ceval_gil", "gil_runtime_state", "gil_runtime_state_enabled", "gil_runtime_state_locked", "gil_runtime_state_holder"}},
		{"thread_state", 152, []string{"size", "prev", "next", "interp", "current_frame", "thread_id", "native_thread_id", "datastack_chunk", "status"}},
		{"interpreter_frame", 224, []string{"size", "previous", "executable", "instr_ptr", "localsplus", "owner"}},
		{"code_object", 272, []string{"size", "filename", "name", "qualname", "linetable", "firstlineno", "argcount", "localsplusnames", "localspluskinds", "co_code_adaptive"}},
		{"gc", 568, []string{"size", "collecting"}},
	},
	14: {
		{"runtime_state", 24, []string{"size", "finalizing", "interpreters_head"}},
		{"interpreter_state", 48, []string{"size", "id", "next", "threads_head", "threads_main", "gc", "imports_modules", "sysdict", "builtins", "ceval_gil", "gil_runtime_state", "gil_runtime_state_enabled", "gil_runtime_state_locked", "gil_runtime_state_holder", "code_object_generation", "tlbc_generation"}},
		{"thread_state", 176, []string{"size", "prev", "next", "interp", "current_frame", "thread_id", "native_thread_id", "datastack_chunk", "status"}},
		{"interpreter_frame", 248, []string{"size", "previous", "executable", "instr_ptr", "localsplus", "owner", "stackpointer", "tlbc_index"}},
		{"code_object", 312, []string{"size", "filename", "name", "qualname", "linetable", "firstlineno", "argcount", "localsplusnames", "localspluskinds", "co_code_adaptive", "co_tlbc"}},
		{"gc", 648, []string{"size", "collecting"}},
		{"gen_object", 664, []string{"size", "gi_name", "gi_iframe", "gi_frame_state"}},
	},
}

// The header of _Py_DebugOffsets: cookie, version (PY_VERSION_HEX) and
// free_threaded, 1 in a build with Py_GIL_DISABLED (3.13t, 3.14t).
const (
	debugCookie     = "xdebugpy"
	debugHeaderSize = 24
)

// debugHeader reads the _Py_DebugOffsets header (3.13+) from the target, or
// from the interpreter's file when the target's copy is unreadable: it is
// initialised data, the same in both. ok is false without the cookie.
func (p *Process) debugHeader() (hdr [debugHeaderSize]byte, ok bool) {
	if err := p.r.read(hdr[:], p.Runtime); err == nil && string(hdr[:8]) == debugCookie {
		return hdr, true
	}
	if p.Bin == nil {
		return hdr, false
	}
	b, err := p.Bin.ReadVA(p.Runtime-p.Bias, debugHeaderSize)
	if err != nil || len(b) != debugHeaderSize || string(b[:8]) != debugCookie {
		return hdr, false
	}
	copy(hdr[:], b)
	return hdr, true
}

// FreeThreadedError says the interpreter is a free-threaded build (3.13t,
// 3.14t): its objects, thread states and locks are laid out differently from
// the default build's, which the layout tables describe, so pyhang refuses it
// rather than decode it wrong.
type FreeThreadedError struct {
	Version Version
	Binary  string // the file that defines _PyRuntime
}

func (e *FreeThreadedError) Error() string {
	return fmt.Sprintf("free-threaded CPython %d.%dt is not supported yet (Python %s built without the GIL, %s); "+
		"pyhang reads the default builds of CPython 3.8 to 3.14", e.Version.Major, e.Version.Minor, e.Version, e.Binary)
}

type debugGroup struct {
	name   string
	offset uint64
	fields []string
}

// debugOffsets reads the groups of this minor version into "group.field" → value.
func (p *Process) debugOffsets() (map[string]int64, error) {
	groups, ok := debugGroups[p.Version.Minor]
	if !ok {
		return nil, fmt.Errorf("no _Py_DebugOffsets description for 3.%d", p.Version.Minor)
	}
	out := map[string]int64{}
	for _, g := range groups {
		raw, err := p.r.bytes(p.Runtime+g.offset, 8*len(g.fields))
		if err != nil {
			return nil, fmt.Errorf("_Py_DebugOffsets.%s at %#x: %w", g.name, p.Runtime+g.offset, err)
		}
		size := le64(raw)
		if size == 0 || size > 1<<20 {
			return nil, fmt.Errorf("_Py_DebugOffsets.%s: implausible size %d", g.name, size)
		}
		for i, f := range g.fields {
			v := le64(raw[8*i:])
			if i > 0 && v >= size && f != "gil_runtime_state_enabled" {
				return nil, fmt.Errorf("_Py_DebugOffsets.%s.%s = %d is outside the struct (size %d)", g.name, f, v, size)
			}
			out[g.name+"."+f] = int64(v)
		}
	}
	return out, nil
}

// applyDebugOffsets replaces the built-in table's values by those the
// interpreter publishes about itself. A difference is reported as a warning:
// it means a patch release moved a field, which the table should learn.
func (p *Process) applyDebugOffsets() error {
	d, err := p.debugOffsets()
	if err != nil {
		return err
	}
	l := p.Layout
	set := func(dst *int64, key string) {
		v, ok := d[key]
		if !ok {
			return
		}
		if *dst != v {
			p.warnf("Python %s: %s is %d, built-in table says %d; using %d", p.Version, key, v, *dst, v)
			*dst = v
		}
	}
	set(&l.RuntimeInterpHead, "runtime_state.interpreters_head")
	set(&l.RuntimeFinalizing, "runtime_state.finalizing")
	set(&l.InterpID, "interpreter_state.id")
	set(&l.InterpGC, "interpreter_state.gc")
	set(&l.GCCollecting, "gc.collecting")
	set(&l.InterpNext, "interpreter_state.next")
	set(&l.InterpThreadsHead, "interpreter_state.threads_head")
	set(&l.InterpModules, "interpreter_state.imports_modules")
	set(&l.InterpSysdict, "interpreter_state.sysdict")
	set(&l.InterpGILPtr, "interpreter_state.ceval_gil")
	set(&l.TstateNext, "thread_state.next")
	set(&l.TstateInterp, "thread_state.interp")
	set(&l.TstateFrame, "thread_state.current_frame")
	set(&l.TstateThreadID, "thread_state.thread_id")
	set(&l.TstateNativeThreadID, "thread_state.native_thread_id")
	set(&l.IFPrevious, "interpreter_frame.previous")
	set(&l.IFCode, "interpreter_frame.executable")
	set(&l.IFInstr, "interpreter_frame.instr_ptr")
	set(&l.IFLocalsplus, "interpreter_frame.localsplus")
	set(&l.IFOwner, "interpreter_frame.owner")
	set(&l.IFStackpointer, "interpreter_frame.stackpointer")
	set(&l.CoFilename, "code_object.filename")
	set(&l.CoName, "code_object.name")
	set(&l.CoQualname, "code_object.qualname")
	set(&l.CoLinetable, "code_object.linetable")
	set(&l.CoFirstlineno, "code_object.firstlineno")
	set(&l.CoArgcount, "code_object.argcount")
	set(&l.CoLocalsNames, "code_object.localsplusnames")
	set(&l.CoLocalsKinds, "code_object.localspluskinds")
	set(&l.CoCodeAdaptive, "code_object.co_code_adaptive")
	set(&l.GenIFrame, "gen_object.gi_iframe")
	set(&l.GenFrameState, "gen_object.gi_frame_state")
	return nil
}
