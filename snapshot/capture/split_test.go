package capture

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
	"github.com/pyhang/pyhang/snapshot/corefile"
	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/target"
)

// atOnce runs the fork's work at once, before the decode's own goroutine
// takes any thread: the fork then takes every batch but the last ones
// (forkLeast), the same on every run.
type atOnce struct{}

func (atOnce) do(f func()) { f() }

// concurrently runs the fork's work on a goroutine of its own: which
// decoder takes which batch changes from run to run.
type concurrently struct{}

func (concurrently) do(f func()) { go f() }

// TestSplitDecodeSame decodes parked.py's 40 threads, live, on one goroutine,
// then split with a fork (decodeSplit) twice: the fork first, then the two
// at once; then a gcore of it, on one goroutine and split. Under every
// interpreter, the threads, their frames, the objects and the warnings must
// be the same each time.
func TestSplitDecodeSame(t *testing.T) {
	const threads = 40
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			s, ready := testinterp.Start(t, in, filepath.Join("..", "..", "testprogs", "parked.py"),
				"--threads", fmt.Sprint(threads), "--depth", "20")
			var r struct {
				Watcher *int `json:"watcher_native_id"`
			}
			if err := json.Unmarshal(ready, &r); err != nil {
				t.Fatalf("ready file: %v", err)
			}
			if r.Watcher != nil {
				waitTaskGone(t, s.PID, *r.Watcher)
			}
			testinterp.WaitThreads(t, s.PID, threads, time.Minute, testinterp.SysFutex, 45, 23, 270, 230, 35, 7, 271, 0)
			one := decodeLive(t, s.PID, nil)
			two := decodeLive(t, s.PID, atOnce{})
			if len(one.threads) < threads {
				t.Fatalf("%d threads decoded, want %d and more", len(one.threads), threads)
			}
			want := 0 // the batches taken while forkLeast threads are left
			for i := 0; len(one.threads)-i >= forkLeast; i += shareBatch {
				want += shareBatch
			}
			if two.forked != want {
				t.Errorf("the fork decoded %d threads of %d, want %d", two.forked, len(one.threads), want)
			}
			sameDecode(t, "split", one, two)
			sameDecode(t, "split concurrently", one, decodeLive(t, s.PID, concurrently{}))

			core := testinterp.Gcore(t, s.PID)
			sameDecode(t, "split, from a gcore", decodeCore(t, core, nil), decodeCore(t, core, concurrently{}))
		})
	}
}

// sameDecode checks that two decodes of one process, one on one goroutine
// and one split as how says, found the same.
func sameDecode(t *testing.T, how string, one, two *decoded) {
	t.Helper()
	if len(two.threads) != len(one.threads) {
		t.Fatalf("%d threads on one goroutine, %d %s", len(one.threads), len(two.threads), how)
	}
	for i := range one.threads {
		if !reflect.DeepEqual(one.threads[i], two.threads[i]) {
			t.Errorf("thread %d (%s) differs:\none goroutine %+v\n%s %+v", i, one.threads[i].Name, one.threads[i], how, two.threads[i])
		}
	}
	if a, b := one.objs.All(), two.objs.All(); !reflect.DeepEqual(a, b) {
		for id, ob := range a {
			if !reflect.DeepEqual(ob, b[id]) {
				t.Errorf("object %s: one goroutine %+v, %s %+v", id, ob, how, b[id])
			}
		}
		t.Errorf("objects differ: %d on one goroutine, %d %s", len(a), len(b), how)
	}
	if !reflect.DeepEqual(one.warnings, two.warnings) {
		t.Errorf("warnings differ:\none goroutine %q\n%s %q", one.warnings, how, two.warnings)
	}
}

// decodeLive decodes the running process pid with a reader of its own.
func decodeLive(t *testing.T, pid int, side sideRunner) *decoded {
	t.Helper()
	peek, err := live.Attach(pid, live.Options{NonBlocking: true})
	if err != nil {
		t.Fatal(err)
	}
	defer peek.Close()
	return decodeTarget(t, peek, side)
}

// decodeCore decodes the core file at path.
func decodeCore(t *testing.T, path string, side sideRunner) *decoded {
	t.Helper()
	c, err := corefile.Open(path, corefile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return decodeTarget(t, c, side)
}

// decodeTarget decodes the interpreter of tgt.
func decodeTarget(t *testing.T, tgt target.Target, side sideRunner) *decoded {
	t.Helper()
	p, err := cpython.Open(tgt)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeMemory(p, Options{}, side)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitTaskGone waits until thread tid of pid has exited.
func waitTaskGone(t *testing.T, pid, tid int) {
	t.Helper()
	path := fmt.Sprintf("/proc/%d/task/%d", pid, tid)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d of pid %d still there after 30 s", tid, pid)
		}
	}
}
