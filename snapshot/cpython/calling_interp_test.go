package cpython

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// callOps is what testdata/callops.py prints.
type callOps struct {
	Version          string   `json:"version"`
	BeforeWith       *int     `json:"before_with"`
	BeforeWithCaches int      `json:"before_with_caches"`
	Call             []int    `json:"call"`
	CallKW           []int    `json:"call_kw"`
	Withs            int      `json:"withs"`
	BadWiths         []string `json:"bad_withs"`
}

// TestCallingOpsAgainstInterpreters checks the bytecode facts calling.go
// reads against each interpreter's own opcode module (opcode numbers are
// macros, not in DWARF), and the shape of every `with` statement compiled
// from a sample of the standard library: the slot BEFORE_WITH keeps the
// manager in is counted by the exception-table entry that starts after it
// (3.11–3.13); `with` calls __enter__ with CALL 0 (3.14).
func TestCallingOpsAgainstInterpreters(t *testing.T) {
	script, err := filepath.Abs(filepath.Join("testdata", "callops.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out, err := in.Command(ctx, script).Output()
			if err != nil {
				t.Fatalf("%s callops.py: %v", in.Name, err)
			}
			var got callOps
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s callops.py printed %q: %v", in.Name, out, err)
			}
			var micro int
			if _, err := fmt.Sscanf(in.Version, "3.%d.%d", new(int), &micro); err != nil {
				t.Fatalf("version %q: %v", in.Version, err)
			}
			l, err := ForVersion(Version{Major: 3, Minor: in.Minor, Micro: micro, Level: 0xf})
			if err != nil {
				t.Fatal(err)
			}
			bw := -1
			if got.BeforeWith != nil {
				bw = *got.BeforeWith
			}
			if l.OpBeforeWith != bw {
				t.Errorf("Layout.OpBeforeWith = %d, the interpreter's BEFORE_WITH is %d", l.OpBeforeWith, bw)
			}
			if bw >= 0 && got.BeforeWithCaches != 0 {
				t.Errorf("BEFORE_WITH has %d inline cache entries; calling.go takes the next instruction to be the next unit", got.BeforeWithCaches)
			}
			// The call families matter only where the frame saves its stack
			// pointer; elsewhere the table must leave them empty.
			if l.IFStackpointer >= 0 {
				if want := ints(l.CallOps); !slices.Equal(want, got.Call) {
					t.Errorf("Layout.CallOps = %v, the interpreter's CALL family is %v", want, got.Call)
				}
				if want := ints(l.CallKWOps); !slices.Equal(want, got.CallKW) {
					t.Errorf("Layout.CallKWOps = %v, the interpreter's CALL_KW family is %v", want, got.CallKW)
				}
			} else if len(l.CallOps)+len(l.CallKWOps) > 0 {
				t.Errorf("Layout.CallOps/CallKWOps are set for a version whose frames keep no stack pointer")
			}
			if len(got.BadWiths) > 0 {
				t.Errorf("%d with statements do not have the shape calling.go reads, e.g.:\n  %s", len(got.BadWiths), strings.Join(got.BadWiths, "\n  "))
			}
			if in.Minor >= 11 && got.Withs == 0 {
				t.Errorf("no with statement found in the sample: the check checked nothing")
			}
			t.Logf("%s (%s): BEFORE_WITH %d, CALL family %v, CALL_KW family %v; %d with statements of the stdlib sample have the expected shape",
				got.Version, in.Name, bw, got.Call, got.CallKW, got.Withs-len(got.BadWiths))
		})
	}
}

func ints(ops []uint8) []int {
	out := make([]int, len(ops))
	for i, o := range ops {
		out[i] = int(o)
	}
	slices.Sort(out)
	return out
}
