package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
	"github.com/pyhang/pyhang/snapshot"
)

// evalFunction is the interpreter loop every Python frame runs in.
const evalFunction = "_PyEval_EvalFrameDefault"

// TestNativeStacks dumps parked.py with --native under every interpreter, live, from a
// gcore and from a kernel core, and compares every thread's native frames with gdb's
// backtrace of the same process or core: the same frames (gdb's real frames, not the
// inline or tail-call frames it reconstructs from DWARF) at the same program counters,
// each in the same function (the ELF symbol gdb's "info symbol" names, compared by
// start address, so aliases agree). Where gdb reads debug files pyhang cannot see (the
// Debian unstable -dbg packages, installed outside the target's /usr/lib/debug), a
// frame pyhang leaves unnamed must be a function its file does not export: the exported
// functions of the chain are all named, in order. Every Python frame must sit at a
// native frame gdb calls _PyEval_EvalFrameDefault.
func TestNativeStacks(t *testing.T) {
	gdb := needGDB(t)
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			p := startProgram(t, in, "parked.py")
			pid := strconv.Itoa(p.PID)
			t.Run("live", func(t *testing.T) {
				s, r := dumpJSON(t, pid, "--native")
				assertNotStopped(t, p.PID)
				g := gdbStacks(t, gdb, in, "-p", pid)
				assertNotStopped(t, p.PID)
				checkNative(t, in, s, g, nil)
				t.Logf("%s: paused_ms %.2f; %v", t.Name(), *s.Target.PausedMS, r.elapsed.Round(time.Millisecond))
			})
			t.Run("gcore", func(t *testing.T) {
				holes := unreadableChunks(t, p.PID)
				core := testinterp.Gcore(t, p.PID)
				s, _ := dumpJSON(t, core, "--native")
				g := gdbStacks(t, gdb, in, core)
				if len(holes) > 0 {
					// glibc 2.41+ puts guard pages inside thread stacks (MADV_GUARD_INSTALL);
					// gdb zero-fills every 1 MiB chunk it cannot read whole, so the core
					// lacks those threads' C stacks. Both tools see the same zeros.
					t.Logf("gcore zero-filled %d MiB chunk(s) of readable mappings (glibc guard pages in thread stacks)", len(holes))
				}
				checkNative(t, in, s, g, holes)
			})
			t.Run("kernel-core", func(t *testing.T) {
				core, ok := testinterp.KernelCore(t, p.Started)
				if !ok {
					t.Skip("the kernel wrote no core file on this machine (reason logged above)")
				}
				s, _ := dumpJSON(t, core, "--native")
				g := gdbStacks(t, gdb, in, core)
				checkNative(t, in, s, g, nil)
			})
		})
	}
}

// TestNativeCrash: the ctypes example dies with SIGSEGV in libcrypto's RSA_size; from the
// kernel's core, the crashed thread's innermost native frame (with and without --native)
// is that function, its stack matches gdb's, and the Python frame that made the call
// is placed on it.
func TestNativeCrash(t *testing.T) {
	gdb := needGDB(t)
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			s, raw := testinterp.Start(t, in, filepath.Join("..", "testprogs", "talk_ctypes_crash.py"))
			var want struct {
				Expect struct {
					NativeFunction string `json:"native_function"`
					Library        string `json:"library"`
					Qualname       string `json:"python_qualname"`
				} `json:"expect"`
			}
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatalf("ready file: %v", err)
			}
			core, _, ok := testinterp.CrashCore(t, s)
			if !ok {
				t.Skip("the kernel wrote no core file on this machine (reason logged above)")
			}
			plain, _ := dumpJSON(t, core)
			snap, _ := dumpJSON(t, core, "--native")
			sig := snap.Target.Signal
			if sig == nil || sig.Name != "SIGSEGV" {
				t.Fatalf("signal %+v, want SIGSEGV", sig)
			}
			var crashed *snapshot.Thread
			for i := range snap.Threads {
				if snap.Threads[i].TID == sig.TID {
					crashed = &snap.Threads[i]
				}
			}
			if crashed == nil || len(crashed.Native) == 0 {
				t.Fatalf("no native stack for the crashed thread %d", sig.TID)
			}
			top := crashed.Native[0]
			if top.Symbol != want.Expect.NativeFunction || !strings.HasPrefix(top.Module, want.Expect.Library) {
				t.Errorf("crashed thread's innermost frame is %s in %s, want %s in %s*", top.Symbol, top.Module,
					want.Expect.NativeFunction, want.Expect.Library)
			}
			for _, th := range plain.Threads {
				if th.TID == sig.TID && (th.Innermost == nil || th.Innermost.Symbol != top.Symbol || th.Innermost.Module != top.Module) {
					t.Errorf("without --native, innermost = %+v, want %s in %s", th.Innermost, top.Symbol, top.Module)
				}
			}
			// Before 3.11 there is no co_qualname: the frame is named by its function.
			fn := want.Expect.Qualname[strings.LastIndex(want.Expect.Qualname, ".")+1:]
			placed := false
			for _, f := range crashed.Frames {
				if (f.Qualname == want.Expect.Qualname || f.Qualname == fn) && f.Native != nil {
					placed = true
				}
			}
			if !placed {
				t.Errorf("Python frame %s not placed on the native stack", want.Expect.Qualname)
			}
			g := gdbStacks(t, gdb, in, core)
			checkNative(t, in, snap, g, nil)
			t.Logf("%s: SIGSEGV at %s in %s+%#x (%s); %d native frames", in.Name, sig.Addr, top.Symbol, top.Offset, top.Module, len(crashed.Native))
		})
	}
}

func needGDB(t *testing.T) string {
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		msg := "gdb not found: run scripts/install-test-deps.sh"
		if os.Getenv("PYHANG_REQUIRE_ALL") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return gdb
}

// gdbFrame is one frame as testdata/gdb_stacks.py prints it.
type gdbFrame struct {
	kind     string // normal, inline, tailcall, sigtramp, …
	pc       uint64
	name     string // gdb's function name ("-": none)
	symStart uint64 // start of the ELF symbol covering the frame's code address (0: none)
	sym      string
	objfile  string // "-" for the main executable
}

// gdbStacks runs gdb on a pid ("-p", PID) or a core and returns each thread's frames.
func gdbStacks(t *testing.T, gdb string, in testinterp.Interp, target ...string) map[int][]gdbFrame {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "gdb_stacks.py"))
	if err != nil {
		t.Fatal(err)
	}
	debugDirs := "/usr/lib/debug"
	if in.DebugDir != "" {
		debugDirs += ":" + in.DebugDir
	}
	args := []string{"-nx", "-batch",
		"-iex", "set auto-load no", "-iex", "set debuginfod enabled off", "-iex", "set exec-file-mismatch off",
		"-iex", "set debug-file-directory " + debugDirs,
		in.Exe}
	args = append(append(args, target...), "-x", script)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, gdb, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil && !strings.Contains(stdout.String(), "\nDONE") {
		t.Fatalf("gdb %s: %v\n%s\n%s", strings.Join(args, " "), err, tail(stdout.Bytes(), 2000), tail(stderr.Bytes(), 2000))
	}
	out := map[int][]gdbFrame{}
	tid := 0
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "T":
			tid, _ = strconv.Atoi(f[1])
			out[tid] = []gdbFrame{}
		case len(f) == 7 && f[0] == "F" && tid != 0:
			pc, _ := strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 64)
			start, _ := strconv.ParseUint(strings.TrimPrefix(f[4], "0x"), 16, 64)
			out[tid] = append(out[tid], gdbFrame{kind: f[1], pc: pc, name: f[3], symStart: start, sym: f[5], objfile: f[6]})
		}
	}
	if len(out) == 0 {
		t.Fatalf("gdb printed no threads:\n%s\n%s", tail(stdout.Bytes(), 2000), tail(stderr.Bytes(), 2000))
	}
	return out
}

// realFrames are the frames that are on the machine stack: gdb's inline and tail-call
// frames are reconstructed from DWARF and share or invent program counters.
func realFrames(fs []gdbFrame) []gdbFrame {
	var out []gdbFrame
	for _, f := range fs {
		if f.kind == "normal" || f.kind == "sigtramp" {
			out = append(out, f)
		}
	}
	// gdb ends some stacks with a frame at pc 0 where the unwinder has nothing more.
	for len(out) > 0 && out[len(out)-1].pc == 0 {
		out = out[:len(out)-1]
	}
	return out
}

// checkNative compares pyhang's native frames of every Python thread with gdb's. With
// holes (a gcore missing stack memory), a thread whose stack pyhang could not finish
// must say why, and only the frames both tools found are compared.
func checkNative(t *testing.T, in testinterp.Interp, s *snapshot.Snapshot, g map[int][]gdbFrame, holes []string) {
	t.Helper()
	strict := in.DebugDir == ""
	frames, named, unnamed, cut := 0, 0, 0, 0
	for i := range s.Threads {
		th := &s.Threads[i]
		label := fmt.Sprintf("thread %d %q", th.TID, th.Name)
		gf, ok := g[th.TID]
		if !ok {
			t.Errorf("%s: not in gdb's output", label)
			continue
		}
		want := realFrames(gf)
		got := th.Native
		if th.NativeEnd != "" {
			if len(holes) == 0 {
				t.Errorf("%s: native stack ends early: %s\n%s", label, th.NativeEnd, nativeDiff(got, want))
				continue
			}
			cut++
			t.Logf("%s: native stack ends early in a core with holes: %s", label, th.NativeEnd)
			if len(got) < len(want) {
				want = want[:len(got)]
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d native frames, gdb has %d\n%s", label, len(got), len(want), nativeDiff(got, want))
			continue
		}
		bad := false
		for j := range got {
			pc := uint64(got[j].PC)
			w := want[j]
			switch {
			case pc != w.pc:
				bad = true
			case got[j].Symbol != "":
				named++
				if w.symStart == 0 || pc-got[j].Offset != w.symStart {
					bad = true
				}
			case w.symStart != 0:
				unnamed++
				// Unnamed, Offset is pc's address in the module: the symbol gdb
				// found starts at the same distance before it.
				if strict || pc-w.symStart > got[j].Offset || exported(in, w, got[j].Offset-(pc-w.symStart)) {
					bad = true
				}
			}
		}
		if bad {
			t.Errorf("%s: native frames differ from gdb's (strict=%v)\n%s", label, strict, nativeDiff(got, want))
			continue
		}
		frames += len(got)
		checkPlacement(t, label, th, want, th.NativeEnd != "")
	}
	t.Logf("%s: %d threads, %d native frames equal to gdb's (%d named, %d left unnamed that gdb names from debug files pyhang does not see; %d stacks cut by core holes)",
		in.Name, len(s.Threads), frames, named, unnamed, cut)
}

// checkPlacement: every Python frame sits at a native frame that gdb names the
// interpreter loop (where gdb has a name for it); with a cut stack, the frames past
// the cut are not placed.
func checkPlacement(t *testing.T, label string, th *snapshot.Thread, gdbReal []gdbFrame, cut bool) {
	t.Helper()
	for _, f := range th.Frames {
		if f.Native == nil {
			if cut {
				continue
			}
			t.Errorf("%s: Python frame %s (%s:%d) is not placed on the native stack", label, f.Qualname, f.File, f.Line)
			continue
		}
		n := *f.Native
		if n < 0 || n >= len(gdbReal) {
			continue // cut stack, reported above
		}
		name := gdbReal[n].name
		if name != "-" && name != evalFunction && !strings.HasPrefix(name, evalFunction+".") {
			t.Errorf("%s: Python frame %s is placed at native frame #%d, which gdb calls %s, not %s", label, f.Qualname, n, name, evalFunction)
		}
	}
}

var (
	dynsymMu    sync.Mutex
	dynsymCache = map[string]map[uint64]bool{}
)

// exported reports whether a function of the file's .dynsym starts at va (the start of
// gdb's symbol for a frame, as an address in the file): pyhang, reading the file alone,
// must then have named it.
func exported(in testinterp.Interp, w gdbFrame, va uint64) bool {
	path := w.objfile
	if path == "-" {
		path = in.Exe
	}
	dynsymMu.Lock()
	defer dynsymMu.Unlock()
	starts, ok := dynsymCache[path]
	if !ok {
		starts = map[uint64]bool{}
		if f, err := elf.Open(path); err == nil {
			syms, _ := f.DynamicSymbols()
			for _, s := range syms {
				if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value != 0 {
					starts[s.Value] = true
				}
			}
			f.Close()
		}
		dynsymCache[path] = starts
	}
	return starts[va]
}

// nativeDiff shows pyhang's frames beside gdb's.
func nativeDiff(got []snapshot.NativeFrame, want []gdbFrame) string {
	var b strings.Builder
	for i := 0; i < max(len(got), len(want)) && i < 60; i++ {
		var g, w string
		if i < len(got) {
			f := got[i]
			g = fmt.Sprintf("%s %s+%#x (%s)", f.PC, orDash(f.Symbol), f.Offset, f.Module)
		}
		if i < len(want) {
			f := want[i]
			w = fmt.Sprintf("%#x %s [%s@%#x] %s", f.pc, f.name, f.sym, f.symStart, filepath.Base(f.objfile))
		}
		fmt.Fprintf(&b, "  %3d %-70s | %s\n", i, g, w)
	}
	return strings.TrimRight(b.String(), "\n")
}

func orDash(s string) string {
	if s == "" {
		return "??"
	}
	return s
}

// TestNativeDiagnose: `diagnose --native` of the deadlock shows, for each thread of
// the cycle, its native stack with its Python frames under the interpreter frames
// that run them, and the same findings as without --native; the text without
// --native has no native frames.
func TestNativeDiagnose(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			p := startProgram(t, in, "deadlock.py")
			pid := strconv.Itoa(p.PID)
			plain := runPyhang(t, "diagnose", pid)
			native := runPyhang(t, "diagnose", pid, "--native")
			if plain.code != 3 || native.code != 3 {
				t.Fatalf("exit codes %d and %d, want 3:\n%v\n%v", plain.code, native.code, plain, native)
			}
			if strings.Contains(string(plain.stdout), "  #0 ") {
				t.Errorf("diagnose without --native shows native frames:\n%s", plain.stdout)
			}
			first := func(out []byte) string { return strings.SplitN(string(out), "\nThreads involved:", 2)[0] }
			if a, b := first(plain.stdout)[strings.Index(string(plain.stdout), "\n"):], first(native.stdout)[strings.Index(string(native.stdout), "\n"):]; a != b {
				t.Errorf("findings differ with --native:\n%s\n---\n%s", a, b)
			}
			out := string(native.stdout)
			for _, name := range []string{"posting", "audit"} {
				i := strings.Index(out, fmt.Sprintf("%q (ident", name))
				if i < 0 {
					t.Errorf("thread %s not in the diagnosis:\n%s", name, out)
					continue
				}
				block := out[i:]
				if j := strings.Index(block[1:], "\nThread "); j > 0 {
					block = block[:j+1]
				}
				// The Python frame that waits sits under a native frame: a "#N" line comes
				// before its "File" line, and nothing is left unplaced.
				k, f := strings.Index(block, "  #0 "), strings.Index(block, "File \"")
				if k < 0 || f < k || strings.Contains(block, "not placed") || strings.Contains(block, "native stack ends") {
					t.Errorf("thread %s: no mixed stack:\n%s", name, block)
				}
			}
			t.Logf("%s: diagnose --native shows the deadlocked threads' native stacks (%d lines)", in.Name, strings.Count(out, "\n"))
		})
	}
}
