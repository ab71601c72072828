package scenarios

import (
	"slices"
	"strconv"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
	"github.com/pyhang/pyhang/snapshot"
)

// benchInterps are the interpreters the benchmarks run on: the newest pyenv release
// without the 3.13 debug offsets, and the oldest supported one.
var benchInterps = []string{"pyenv-3.12.1", "pyenv-3.8.18"}

// benchArgs make parked.py the benchmark target of the speed goals: 102 threads, each
// ~120 frames deep (12,000 frames).
var benchArgs = []string{"--threads", "100", "--depth", "50", "--ready-timeout", "120"}

// BenchmarkDumpLive dumps a live parked.py with the pyhang binary: as a user would
// (its threads all asleep, from 3.11 on it is read without a stop), then with --stop.
// It reports how long the target's threads were stopped (paused-ms, the mean), the
// share of dumps read without a stop (idle-reads), the CPU time pyhang used (cpu-ms,
// the mean: steadier than ns/op on a loaded machine) and the frames read per snapshot.
func BenchmarkDumpLive(b *testing.B) {
	for _, in := range benchTargets(b) {
		p := startProgram(b, in, "parked.py", benchArgs...)
		pid := strconv.Itoa(p.PID)
		b.Run(in.Name, func(b *testing.B) {
			benchTake(b, pid, len(p.ready.Threads))
		})
		b.Run(in.Name+"/stop", func(b *testing.B) {
			benchTake(b, pid, len(p.ready.Threads), "--stop")
		})
	}
}

// BenchmarkDumpCore dumps a gcore of the same program.
func BenchmarkDumpCore(b *testing.B) {
	for _, in := range benchTargets(b) {
		p := startProgram(b, in, "parked.py", benchArgs...)
		core := testinterp.Gcore(b, p.PID)
		b.Run(in.Name, func(b *testing.B) {
			benchTake(b, core, len(p.ready.Threads))
		})
	}
}

// nativeBenchArgs: the 100-thread × 50-frame process --native is measured on.
var nativeBenchArgs = []string{"--threads", "100", "--depth", "50", "--ready-timeout", "120"}

// BenchmarkDumpNative dumps the same live process plain and with --native, in turns, and
// reports the median wall time of each (plain-ms, native-ms) and their ratio
// (native/plain, at most 1.33 by the goal), the same for the CPU time pyhang used
// (plain-cpu-ms, native-cpu-ms, native/plain-cpu: steadier on a loaded machine), and the
// median pause of each (plain-paused-ms, native-paused-ms, which --native must not grow).
// The same process is dumped in text too, plain and with --native in turns: the
// text-… metrics.
func BenchmarkDumpNative(b *testing.B) {
	for _, in := range benchTargets(b) {
		p := startProgram(b, in, "parked.py", nativeBenchArgs...)
		pid := strconv.Itoa(p.PID)
		b.Run(in.Name, func(b *testing.B) {
			var plain, native, plainCPU, nativeCPU, plainPaused, nativePaused []float64
			var textPlain, textNative, textPlainCPU, textNativeCPU []float64
			for b.Loop() {
				for _, mode := range [][]string{{pid}, {pid, "--native"}} {
					s, r := dumpJSON(b, mode...)
					if len(s.Threads) != len(p.ready.Threads) {
						b.Fatalf("pyhang dump %v: %d threads, want %d", mode, len(s.Threads), len(p.ready.Threads))
					}
					ms := float64(r.elapsed.Microseconds()) / 1000
					cpu := float64(r.cpu.Microseconds()) / 1000
					if len(mode) == 1 {
						plain, plainPaused = append(plain, ms), append(plainPaused, *s.Target.PausedMS)
						plainCPU = append(plainCPU, cpu)
					} else {
						native, nativePaused = append(native, ms), append(nativePaused, *s.Target.PausedMS)
						nativeCPU = append(nativeCPU, cpu)
						if n := countNative(s); n == 0 {
							b.Fatalf("--native gave no native frames")
						}
					}
				}
				for _, mode := range [][]string{{pid}, {pid, "--native"}} {
					r := runPyhang(b, append([]string{"dump"}, mode...)...)
					if r.code != 0 {
						b.Fatalf("%v", r)
					}
					ms := float64(r.elapsed.Microseconds()) / 1000
					cpu := float64(r.cpu.Microseconds()) / 1000
					if len(mode) == 1 {
						textPlain, textPlainCPU = append(textPlain, ms), append(textPlainCPU, cpu)
					} else {
						textNative, textNativeCPU = append(textNative, ms), append(textNativeCPU, cpu)
					}
				}
			}
			b.ReportMetric(medianOf(plain), "plain-ms")
			b.ReportMetric(medianOf(native), "native-ms")
			b.ReportMetric(medianOf(native)/medianOf(plain), "native/plain")
			b.ReportMetric(medianOf(plainCPU), "plain-cpu-ms")
			b.ReportMetric(medianOf(nativeCPU), "native-cpu-ms")
			b.ReportMetric(medianOf(nativeCPU)/medianOf(plainCPU), "native/plain-cpu")
			b.ReportMetric(medianOf(plainPaused), "plain-paused-ms")
			b.ReportMetric(medianOf(nativePaused), "native-paused-ms")
			b.ReportMetric(medianOf(textPlain), "text-plain-ms")
			b.ReportMetric(medianOf(textNative), "text-native-ms")
			b.ReportMetric(medianOf(textNative)/medianOf(textPlain), "text-native/plain")
			b.ReportMetric(medianOf(textNativeCPU)/medianOf(textPlainCPU), "text-native/plain-cpu")
		})
	}
}

func countNative(s *snapshot.Snapshot) int {
	n := 0
	for _, th := range s.Threads {
		n += len(th.Native)
	}
	return n
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// benchTake runs the pyhang binary, as a user would. (In-process snapshots of
// a live program would be wrong here: the program is this test's own child,
// and the test's wait for it races pyhang's ptrace waits for its stops.)
func benchTake(b *testing.B, arg string, threads int, flags ...string) {
	var paused, cpu float64
	var frames, idle int
	for b.Loop() {
		s, r := dumpJSON(b, append([]string{arg}, flags...)...)
		if r.code != 0 {
			b.Fatalf("%v", r)
		}
		cpu += float64(r.cpu.Microseconds()) / 1000
		if len(s.Threads) != threads {
			b.Fatalf("pyhang dump %s: %d threads, want %d", arg, len(s.Threads), threads)
		}
		if s.Target.PausedMS != nil {
			paused += *s.Target.PausedMS
		}
		if s.Target.Consistency == snapshot.ReadIdle {
			idle++
		}
		frames = countFrames(s)
	}
	b.ReportMetric(paused/float64(b.N), "paused-ms")
	b.ReportMetric(float64(idle)/float64(b.N), "idle-reads")
	b.ReportMetric(cpu/float64(b.N), "cpu-ms")
	b.ReportMetric(float64(frames), "frames/op")
}

func countFrames(s *snapshot.Snapshot) int {
	n := 0
	for _, th := range s.Threads {
		n += len(th.Frames)
	}
	return n
}

// benchTargets are the interpreters of benchInterps that are on this machine; a missing
// one is logged, not skipped silently.
func benchTargets(b *testing.B) []testinterp.Interp {
	all := testinterp.All(b)
	var out []testinterp.Interp
	for _, name := range benchInterps {
		found := false
		for _, in := range all {
			if in.Name == name {
				out = append(out, in)
				found = true
			}
		}
		if !found {
			b.Logf("benchmark target %s: not found (or filtered out by PYHANG_PYTHONS)", name)
		}
	}
	if len(out) == 0 {
		b.Skipf("none of %v available", benchInterps)
	}
	return out
}
