package heuristics

import (
	"path/filepath"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// The C part of a thread's stack: the native frames from its program
// counter out to the interpreter frame that runs its innermost Python frame,
// where the Python code called into C.

// maxCall bounds the native frames a finding quotes.
const maxCall = 16

// evalLoop is the interpreter loop's function; a stripped build still
// exports it.
const evalLoop = "_PyEval_EvalFrameDefault"

// nativeCall returns the thread's native frames from the innermost out to
// the interpreter frame that runs its innermost Python frame (that frame
// included), at most maxCall; with only the innermost frame known (no
// --native), that one.
func nativeCall(t *snapshot.Thread) []snapshot.NativeFrame {
	if len(t.Native) == 0 {
		if t.Innermost != nil {
			return []snapshot.NativeFrame{*t.Innermost}
		}
		return nil
	}
	end := -1
	if len(t.Frames) > 0 && t.Frames[0].Native != nil {
		end = *t.Frames[0].Native
	}
	if end < 0 || end >= len(t.Native) {
		for i := range t.Native {
			if baseSymbol(t.Native[i].Symbol) == evalLoop {
				end = i
				break
			}
		}
	}
	if end < 0 || end >= maxCall {
		end = min(len(t.Native), maxCall) - 1
	}
	return append([]snapshot.NativeFrame(nil), t.Native[:end+1]...)
}

// baseSymbol strips the suffix a compiler gives a clone of a function
// ("fatal_error.constprop.0", "take_gil.cold").
func baseSymbol(s string) string {
	if i := strings.IndexByte(s, '.'); i > 0 {
		return s[:i]
	}
	return s
}

// Foreign-function interfaces a C call can come through.
const (
	ViaCtypes = "ctypes"
	ViaCFFI   = "cffi"
)

// callVia says through which foreign-function interface Python code called
// the C code of these frames: ctypes (its _ctypes extension module, by file
// name, or its call functions, by symbol), cffi; "" when neither shows.
func callVia(call []snapshot.NativeFrame) string {
	for _, f := range call {
		switch mod := filepath.Base(f.Module); {
		case strings.HasPrefix(mod, "_ctypes."), baseSymbol(f.Symbol) == "_ctypes_callproc", baseSymbol(f.Symbol) == "PyCFuncPtr_call":
			return ViaCtypes
		case strings.HasPrefix(mod, "_cffi_backend."):
			return ViaCFFI
		}
	}
	return ""
}

// Kinds of file a native function lives in.
const (
	// ModuleInterpreter: the ELF that holds the interpreter (libpython, or
	// a statically linked python executable).
	ModuleInterpreter = "interpreter"
	// ModuleExtension: a Python extension module ("_ctypes.cpython-312-
	// x86_64-linux-gnu.so", "foo.abi3.so").
	ModuleExtension = "extension"
	// ModuleLibrary: any other shared library (libc, libcrypto …).
	ModuleLibrary = "library"
	// ModuleUnknown: no file maps the address (anonymous memory, JIT code)
	// or the function is not known.
	ModuleUnknown = ""
)

// moduleKind classifies the file a frame's code is in.
func moduleKind(s *snapshot.Snapshot, f *snapshot.NativeFrame) string {
	mod := f.Module
	switch {
	case mod == "":
		return ModuleUnknown
	case s.Target.Binary != "" && mod == filepath.Base(s.Target.Binary):
		return ModuleInterpreter
	case strings.Contains(mod, ".cpython-") || strings.HasSuffix(mod, ".abi3.so"):
		return ModuleExtension
	}
	return ModuleLibrary
}
