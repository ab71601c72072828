package cpython

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// stateCheckScript reads, from inside the interpreter (ctypes), the fields of
// the layout table that describe the interpreter's own state and the
// arguments of a code object, and prints "Field got want" lines. The values
// it compares with come from the C API or Python itself, never from the
// table: the interpreter's id, the main interpreter, gc.callbacks, the
// collecting flag seen from a gc callback, the finalizing thread state seen
// from a __del__ run by Py_FinalizeEx.
const stateCheckScript = `
import ctypes, gc, sys
L = {layout}
api = ctypes.pythonapi
api.PyThreadState_Get.restype = ctypes.c_void_p
api.PyInterpreterState_Main.restype = ctypes.c_void_p
api.PyInterpreterState_GetID.restype = ctypes.c_int64
api.PyInterpreterState_GetID.argtypes = [ctypes.c_void_p]
rt = ctypes.addressof(ctypes.c_char.in_dll(api, "_PyRuntime"))
ptr = lambda a: ctypes.c_void_p.from_address(a).value or 0
i32 = lambda a: ctypes.c_int.from_address(a).value
ts = api.PyThreadState_Get()
interp = ptr(ts + L["TstateInterp"])
out = []
def check(field, got, want):
    out.append("%s %d %d" % (field, got, want))
check("RuntimeInterpMain", ptr(rt + L["RuntimeInterpMain"]), api.PyInterpreterState_Main())
check("InterpID", ctypes.c_int64.from_address(interp + L["InterpID"]).value, api.PyInterpreterState_GetID(interp))
gcstate = rt + L["RuntimeGC"] if L["RuntimeGC"] >= 0 else interp + L["InterpGC"]
check("GCCallbacks", ptr(gcstate + L["GCCallbacks"]), id(gc.callbacks))
seen = []
def cb(phase, info):
    if phase == "start":
        seen.append(i32(gcstate + L["GCCollecting"]))
gc.callbacks.append(cb)
gc.collect()
gc.callbacks.remove(cb)
check("GCCollecting", seen[0], 1)
check("GCCollecting(idle)", i32(gcstate + L["GCCollecting"]), 0)
def f(a, b, *rest, c, d=1, **kw):
    pass
co = f.__code__
check("CoArgcount", i32(id(co) + L["CoArgcount"]), co.co_argcount)
check("CoKwonlyargcount", i32(id(co) + L["CoKwonlyargcount"]), co.co_kwonlyargcount)
check("CoFlags", i32(id(co) + L["CoFlags"]), co.co_flags)
print("\n".join(out), flush=True)

class AtExit:
    # Run by Py_FinalizeEx when the module is torn down, after the runtime
    # (and, 3.12+, the interpreter) recorded the finalizing thread state.
    def __del__(self, ptr=ptr, i32=i32, api=api, rt=rt, interp=interp, L=L, print=print):
        me = api.PyThreadState_Get()
        print("RuntimeFinalizing %d %d" % (ptr(rt + L["RuntimeFinalizing"]), me))
        if L["InterpFinalizingPtr"]:
            print("InterpFinalizing %d %d" % (ptr(interp + L["InterpFinalizing"]), me), flush=True)
keep = AtExit()
keep.cycle = keep
`

// TestStateFieldsAgainstInterpreters checks the layout table's fields about
// interpreters, the collector, finalization and code-object arguments from
// inside every interpreter: the check for the builds without DWARF (Debian's
// 3.11, 3.13 and 3.14), whose tables TestLayoutDWARF cannot see.
func TestStateFieldsAgainstInterpreters(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			l, err := LayoutFor(in.Minor)
			if err != nil {
				t.Fatal(err)
			}
			ptrFinalizing := 0
			if in.Minor >= 12 {
				ptrFinalizing = 1
			}
			layout := fmt.Sprintf(`{"TstateInterp": %d, "RuntimeInterpMain": %d, "InterpID": %d, "RuntimeGC": %d, "InterpGC": %d, `+
				`"GCCallbacks": %d, "GCCollecting": %d, "CoArgcount": %d, "CoKwonlyargcount": %d, "CoFlags": %d, `+
				`"RuntimeFinalizing": %d, "InterpFinalizing": %d, "InterpFinalizingPtr": %d}`,
				l.TstateInterp, l.RuntimeInterpMain, l.InterpID, l.RuntimeGC, l.InterpGC, l.GCCallbacks, l.GCCollecting,
				l.CoArgcount, l.CoKwonlyargcount, l.CoFlags, l.RuntimeFinalizing, l.InterpFinalizing, ptrFinalizing)
			checked := checkFieldLines(t, in, strings.Replace(stateCheckScript, "{layout}", layout, 1),
				"Layout.%s: the table's offset reads %d, the interpreter says %d")
			want := 9 + ptrFinalizing
			if len(checked) != want {
				t.Errorf("%d checks ran, want %d: %v", len(checked), want, checked)
			}
			t.Logf("%s: %s agree with the interpreter", in.Name, strings.Join(checked, ", "))
		})
	}
}

// checkFieldLines runs src under in, which prints "Field got want" lines, reports
// each line whose values differ with mismatch (field, got, want), and returns the
// fields checked.
func checkFieldLines(t *testing.T, in testinterp.Interp, src, mismatch string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := in.Command(ctx, "-c", src).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var checked []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var field string
		var got, want int64
		if _, err := fmt.Sscan(line, &field, &got, &want); err != nil {
			t.Fatalf("unexpected output %q", line)
		}
		if got != want {
			t.Errorf(mismatch, field, got, want)
		}
		checked = append(checked, field)
	}
	return checked
}
