package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// TestOSNamesText: two threads renamed alike for the kernel keep that name
// in the text dump under every interpreter, also where every thread has a
// name of its own (Debian's 3.14), and the main thread, whose kernel name
// is the process's own, shows none (testprogs/os_names_shared.py).
func TestOSNamesText(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			p := startProgram(t, in, "os_names_shared.py")
			r := runPyhang(t, "dump", strconv.Itoa(p.PID))
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			titles := map[string]string{}
			for _, line := range strings.Split(string(r.stdout), "\n") {
				for _, name := range []string{"MainThread", "pool-0", "pool-1"} {
					if strings.HasPrefix(line, "Thread ") && strings.Contains(line, fmt.Sprintf(" %q ", name)) {
						titles[name] = line
					}
				}
			}
			for _, name := range []string{"pool-0", "pool-1"} {
				if !strings.Contains(titles[name], `[OS name "io-worker"]`) {
					t.Errorf("%s: %q, want its OS name io-worker", name, titles[name])
				}
			}
			if main := titles["MainThread"]; main == "" || strings.Contains(main, "[OS name") {
				t.Errorf("MainThread: %q, want no OS name (the process's own)", main)
			}
		})
	}
}
