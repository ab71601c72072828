package scenarios

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkStartup compares `pyhang --help` with a hello-world Go program, each run
// as a fresh process, alternately. The goal is a start within 3 times hello-world's:
// pyhang links no Graphviz and no WASM runtime, whose package init used to compile
// WebAssembly on every start. It reports the medians and their ratios (x-hello for
// wall time, cpu-x-hello for user+system CPU time).
//
//	go test -run '^$' -bench Startup ./scenarios
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "hello.go")
	if err := os.WriteFile(src, []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello, world\") }\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	hello := filepath.Join(dir, "hello")
	build := exec.Command("go", "build", "-o", hello, src)
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build hello.go: %v\n%s", err, out)
	}
	start := func(argv ...string) (wall, cpu time.Duration) {
		cmd := exec.Command(argv[0], argv[1:]...)
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("%v: %v", argv, err)
		}
		return time.Since(t0), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	// One of each first, so that both binaries are in the page cache.
	start(pyhangBin, "--help")
	start(hello)
	var pw, pc, hw, hc []time.Duration
	for b.Loop() {
		w, c := start(pyhangBin, "--help")
		pw, pc = append(pw, w), append(pc, c)
		w, c = start(hello)
		hw, hc = append(hw, w), append(hc, c)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(median(pw)), "pyhang-ms")
	b.ReportMetric(ms(median(hw)), "hello-ms")
	b.ReportMetric(float64(median(pw))/float64(median(hw)), "x-hello")
	if h := median(hc); h > 0 {
		b.ReportMetric(float64(median(pc))/float64(h), "cpu-x-hello")
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
