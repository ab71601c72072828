package cpython

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// opcodeScript prints, from the interpreter's own opcode and dis modules, the
// opcodes the layout table names: EXTENDED_ARG, 3.10's JUMP_ABSOLUTE, and
// every backward jump with its inline cache units, the specialised
// (quickened) and instrumented forms included, which the adaptive bytecode
// of a running frame may hold.
const opcodeScript = `
import dis, json, opcode
ops = dict(opcode.opmap)
for name in ("_all_opmap",):  # 3.11: specialised forms live in dis
    ops.update(getattr(dis, name, {}) or {})
ops.update(getattr(opcode, "_specialized_opmap", {}) or {})  # 3.13+
spec = getattr(opcode, "_specializations", {}) or {}
base = {s: b for b, ss in spec.items() for s in ss}
caches = getattr(opcode, "_inline_cache_entries", None)
def cache_units(name):
    name = base.get(name, name).replace("INSTRUMENTED_", "")
    if isinstance(caches, dict):
        return caches.get(name, 0)
    if isinstance(caches, list):
        return caches[opcode.opmap[name]]
    return 0
back = {ops[n]: cache_units(n) for n in ops if "JUMP_BACKWARD" in n}
print(json.dumps({"extended_arg": ops["EXTENDED_ARG"], "jump_absolute": ops.get("JUMP_ABSOLUTE", 0),
                  "back": {str(k): v for k, v in back.items()}}))
`

// TestOpcodesAgainstInterpreters checks the layout table's opcodes with
// each interpreter's own opcode module.
func TestOpcodesAgainstInterpreters(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			l, err := LayoutFor(in.Minor)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := in.Command(ctx, "-c", opcodeScript).CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var got struct {
				ExtendedArg  int            `json:"extended_arg"`
				JumpAbsolute int            `json:"jump_absolute"`
				Back         map[string]int `json:"back"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.ExtendedArg != int(l.OpExtendedArg) {
				t.Errorf("Layout.OpExtendedArg = %d, the interpreter's EXTENDED_ARG is %d", l.OpExtendedArg, got.ExtendedArg)
			}
			wantAbs := 0
			if in.Minor == 10 {
				wantAbs = got.JumpAbsolute // before 3.10 pyhang needs no jumps: every instruction has a line
			}
			if int(l.OpJumpAbsolute) != wantAbs {
				t.Errorf("Layout.OpJumpAbsolute = %d, want %d", l.OpJumpAbsolute, wantAbs)
			}
			want := map[byte]int{}
			for k, v := range got.Back {
				var op int
				fmt.Sscan(k, &op)
				want[byte(op)] = v
			}
			if len(want) == 0 {
				want = nil
			}
			if !maps.Equal(l.OpJumpBack, want) {
				t.Errorf("Layout.OpJumpBack = %v, the interpreter's backward jumps (opcode: cache units) are %v", l.OpJumpBack, want)
			}
			t.Logf("%s: EXTENDED_ARG %d, JUMP_ABSOLUTE %d, backward jumps %v", in.Name, got.ExtendedArg, wantAbs, want)
		})
	}
}
