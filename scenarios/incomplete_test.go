package scenarios

import (
	"debug/elf"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// TestIncomplete: a core that lost memory is never reported healthy. A
// healthy program's kernel core (exit 0 whole) is cut before its highest
// segment, the main thread's stack; diagnose must then say the snapshot is
// incomplete (exit 4, with target.missing saying what), not exit 0.
func TestIncomplete(t *testing.T) {
	var in testinterp.Interp
	found := false
	for _, i := range testinterp.All(t) {
		if i.Name == "pyenv-3.12.1" {
			in, found = i, true
		}
	}
	if !found {
		if os.Getenv("PYHANG_REQUIRE_ALL") == "1" {
			t.Fatal("pyenv-3.12.1 is needed for this test and is missing")
		}
		t.Skip("SKIP: pyenv-3.12.1 is not installed")
	}
	p := startProgram(t, in, "healthy_sleep.py")
	core, ok := testinterp.KernelCore(t, p.Started)
	if !ok {
		t.Skip("the kernel wrote no core file on this machine (reason logged above)")
	}
	if r := runPyhang(t, "diagnose", core); r.code != 0 {
		t.Fatalf("the whole core: exit %d, want 0 (healthy)\n%v", r.code, r)
	}
	ef, err := elf.Open(core)
	if err != nil {
		t.Fatal(err)
	}
	// The main thread's stack is the highest mapping of user space (the
	// vsyscall page above it is not); the kernel writes segments in address
	// order, so cutting there loses the stack and what follows.
	var last *elf.Prog
	for _, pr := range ef.Progs {
		if pr.Type == elf.PT_LOAD && pr.Filesz > 0 && pr.Vaddr < 1<<47 && (last == nil || pr.Vaddr > last.Vaddr) {
			last = pr
		}
	}
	ef.Close()
	if last == nil {
		t.Fatal("no PT_LOAD with bytes in the core")
	}
	if err := os.Truncate(core, int64(last.Off)); err != nil {
		t.Fatal(err)
	}
	r := runPyhang(t, "diagnose", core, "--format", "json")
	if r.code != 4 {
		t.Fatalf("core cut before its last segment (%#x-%#x): exit %d, want 4 (incomplete)\n%v", last.Vaddr, last.Vaddr+last.Memsz, r.code, r)
	}
	var rep struct {
		Target struct {
			Missing []string `json:"missing"`
		} `json:"target"`
	}
	if err := json.Unmarshal(r.stdout, &rep); err != nil || len(rep.Target.Missing) == 0 {
		t.Fatalf("exit 4 without target.missing (%v): %s", err, tail(r.stdout, 400))
	}
	text := runPyhang(t, "diagnose", core)
	if text.code != 4 || !strings.Contains(string(text.stdout), "incomplete") {
		t.Errorf("text report: exit %d, want 4 and a word that the snapshot is incomplete:\n%s", text.code, tail(text.stdout, 600))
	}
	t.Logf("missing: %q", rep.Target.Missing)
}
