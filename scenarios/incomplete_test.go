package scenarios

import (
	"debug/elf"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
	"github.com/pyhang/pyhang/snapshot"
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

// TestIncompleteThreadList: a core that lost a thread state cuts the thread
// list there (at its head: every state is lost, and the kernel's threads
// and their native side still make a dump). The kernel threads left over are Python threads whose state
// could not be read, not threads without Python; and the threads that remain,
// all blocked, do not make the process all-blocked: diagnose says the
// snapshot is incomplete (exit 4): no claim that rests on every thread, as
// an abandoned wait's does, stands either. The page of each thread state of
// testprogs/all_blocked.py's kernel core but the main thread's is taken out
// in turn; which threads a cut loses depends on where the states lie, so
// every cut is checked.
func TestIncompleteThreadList(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			p := startProgram(t, in, "all_blocked.py")
			core, ok := testinterp.KernelCore(t, p.Started)
			if !ok {
				t.Skip("the kernel wrote no core file on this machine (reason logged above)")
			}
			whole, _ := dumpJSON(t, core)
			b, err := os.ReadFile(core)
			if err != nil {
				t.Fatal(err)
			}
			cut := filepath.Join(t.TempDir(), "cut.core")
			cuts, dropped := 0, map[uint64]bool{}
			for _, th := range whole.Threads {
				if th.Main || th.Tstate == 0 {
					continue
				}
				if err := os.WriteFile(cut, b, 0o600); err != nil {
					t.Fatal(err)
				}
				page := uint64(th.Tstate) &^ 4095
				if dropped[page] {
					continue // it held another state too
				}
				dropped[page] = true
				if !dropPage(t, cut, page) {
					continue
				}
				// The list's head lost too, the kernel's threads and their
				// native side stand: every state is lost, none is unread.
				r := runPyhang(t, "dump", cut, "--format", "json")
				var s snapshot.Snapshot
				if r.code != 0 || json.Unmarshal(r.stdout, &s) != nil {
					t.Errorf("dump without page %#x: exit %d\n%s", page, r.code, tail(r.stderr, 600))
					continue
				}
				lost := 0
				for _, got := range s.Threads {
					if got.NoThreadState {
						t.Errorf("thread %d shown without Python, its state lost with page %#x", got.TID, page)
					}
					if got.StateLost {
						lost++
					}
				}
				if lost == 0 {
					continue // the page held nothing the list needs
				}
				if len(s.Threads) != len(whole.Threads) || len(s.Target.Missing) == 0 {
					t.Errorf("without page %#x: %d threads of %d, missing %q", page, len(s.Threads), len(whole.Threads), s.Target.Missing)
				}
				d, r := diagnoseJSON(t, cut)
				if r.code != 4 {
					t.Errorf("diagnose without page %#x: exit %d, want 4 (incomplete)\n%s", page, r.code, tail(r.stdout, 1500))
				}
				for _, f := range d.Findings {
					if f.Kind == "all-blocked" {
						t.Errorf("all-blocked over %v, with %d thread state(s) lost", f.Threads, lost)
					}
				}
				text := runPyhang(t, "dump", cut)
				if strings.Contains(string(text.stdout), "without Python") || !strings.Contains(string(text.stdout), "Python thread state unreadable") {
					t.Errorf("text dump:\n%s", tail(text.stdout, 2000))
				}
				t.Logf("without page %#x: %d of %d thread states lost; missing %q", page, lost, len(s.Threads), s.Target.Missing)
				cuts++
			}
			if cuts == 0 {
				t.Fatalf("no thread state's page, taken out of the core, cut the thread list after its first thread")
			}
		})
	}
}
