package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/pyhang/pyhang/snapshot"
)

// TestWriteReportAsEncodingJSON holds writeReport to json.Encoder's bytes, with
// thread names, frames, native frames and objects that spell out "frames":null
// and "objects" themselves, with the frames encoded as the report is written
// and encoded beside the analysis (withEncodingAhead), objects an analysis
// adds or replaces included.
func TestWriteReportAsEncodingJSON(t *testing.T) {
	tricky := `"frames":null <&> ` + "\u2028\xff"
	locked := true
	s := &snapshot.Snapshot{Schema: snapshot.Schema, Target: snapshot.TargetInfo{Kind: "pid", PID: 42, Python: "3.12.1", Warnings: []string{tricky}},
		Objects: map[string]*snapshot.Object{"lock@0x7f10": {ID: "lock@0x7f10", Kind: snapshot.KindLock, Type: "_thread.lock", Addr: 0x7f10, Locked: &locked, Names: []string{tricky}}}}
	for tid := 1; tid <= 3; tid++ {
		th := snapshot.Thread{TID: tid, Ident: uint64(tid) << 12, Name: tricky, Main: tid == 1, GIL: snapshot.GILNone, State: snapshot.StateBlocked,
			Kernel: &snapshot.Kernel{Syscall: "futex", Nr: 202, Futex: 0x7f10 + 16, Timed: tid == 2, Restarted: tid == 3, RestartedBy: "call site"}}
		for i := 0; i < tid*2; i++ {
			th.Frames = append(th.Frames, snapshot.Frame{Function: tricky, Qualname: "q", File: "/a/" + tricky + ".py", Line: i, FirstLine: 1,
				Refs: map[string]string{"lock": "lock@0x7f10"}, With: []string{"lock@0x7f10"}, Addr: snapshot.Addr(0x1000 * i)})
		}
		if tid > 1 {
			// --native: a thread's native frames follow its frames.
			th.Native = []snapshot.NativeFrame{{PC: 0x7f00, Symbol: tricky, Offset: 0x8b, Module: "libc.so.6", SignalFrame: tid == 3},
				{PC: 0x5500, Offset: 0x10, Module: tricky, File: tricky, Line: tid}}
			th.NativeEnd, th.Innermost = tricky, &th.Native[0]
		}
		s.Threads = append(s.Threads, th)
	}
	s.Threads = append(s.Threads, snapshot.Thread{TID: 9, Name: "no frames"})
	timeout, fd := 2.5e-7, 3
	s.Objects["socket@0x7f20"] = &snapshot.Object{ID: "socket@0x7f20", Kind: snapshot.KindSocket, Type: "socket", Addr: 0x7f20, Timeout: &timeout, FD: &fd}
	s.Objects[`"objects":{"\u0000objects":null}`] = &snapshot.Object{ID: tricky, Names: []string{`"objects":{}`}}
	empty := &snapshot.Snapshot{Schema: snapshot.Schema, Target: s.Target, Threads: s.Threads[:1]}
	for _, c := range []struct {
		s        *snapshot.Snapshot
		findings bool
		ahead    bool
	}{{s, false, false}, {s, true, false}, {empty, false, false}, {s, false, true}, {s, true, true}, {empty, false, true}} {
		s, findings := c.s, c.findings
		an := analyse
		if c.ahead {
			an = withEncodingAhead(an, nil)
		}
		r := an(s).report(findings)
		if c.ahead != (r.ahead != nil) {
			t.Fatalf("encoded ahead: %v, want %v", r.ahead != nil, c.ahead)
		}
		if c.ahead && findings {
			// An analysis's own objects, one of them under an id the snapshot
			// has: written as they are, not as the snapshot's were encoded ahead.
			r.Objects["lock@0x7f10"] = &snapshot.Object{ID: "lock@0x7f10", Kind: snapshot.KindLock, Type: "replaced"}
			r.Objects["gil"] = &snapshot.Object{ID: "gil", Kind: "gil"}
		}
		if got, want := bothEncodings(t, r); !bytes.Equal(got, want) {
			t.Errorf("findings %v, frames ahead %v:\ngot  %s\nwant %s", findings, c.ahead, got, want)
		}
	}
}

// bothEncodings is r as writeJSON writes it, and as json.Encoder does.
func bothEncodings(t *testing.T, r *report) (got, want []byte) {
	t.Helper()
	var g, w bytes.Buffer
	if err := json.NewEncoder(&w).Encode(r); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(&g, r); err != nil {
		t.Fatal(err)
	}
	return g.Bytes(), w.Bytes()
}

// TestFramesAheadBounded: a snapshot of more frames than maxFramesAhead has
// none encoded ahead, all of them held in memory at once, and its report is
// written a thread at a time, as encoding/json writes it.
func TestFramesAheadBounded(t *testing.T) {
	frames := make([]snapshot.Frame, maxFramesAhead/2+1)
	for i := range frames {
		frames[i] = snapshot.Frame{Function: "f", File: "/a.py", Line: i}
	}
	s := &snapshot.Snapshot{Schema: snapshot.Schema, Target: snapshot.TargetInfo{Kind: "pid", PID: 42},
		Threads: []snapshot.Thread{{TID: 1, Frames: frames}, {TID: 2, Frames: frames}}}
	r := withEncodingAhead(analyseLocks, nil)(s).report(false)
	if r.ahead != nil {
		t.Fatalf("%d frames encoded ahead, above the bound of %d", 2*len(frames), maxFramesAhead)
	}
	if got, want := bothEncodings(t, r); !bytes.Equal(got, want) {
		t.Errorf("the report differs from encoding/json's (%d bytes against %d)", len(got), len(want))
	}
	s.Threads = s.Threads[:1]
	s.Threads[0].Frames = frames[:10]
	if withEncodingAhead(analyseLocks, nil)(s).ahead == nil {
		t.Errorf("10 frames not encoded ahead")
	}
}

// TestEncodedAheadByTheWriter: when the goroutine that encodes ahead has not
// begun, the writer's own calls encode every thread's frames and every
// object, as they are encoded ahead.
func TestEncodedAheadByTheWriter(t *testing.T) {
	lock := &snapshot.Object{ID: "lock@0x10", Kind: snapshot.KindLock, Type: "_thread.lock", Addr: 0x10}
	s := &snapshot.Snapshot{Schema: snapshot.Schema, Target: snapshot.TargetInfo{Kind: "pid", PID: 42},
		Threads: []snapshot.Thread{
			{TID: 1, Frames: []snapshot.Frame{{Function: "f", File: "/a.py", Line: 3}}},
			{TID: 2, Frames: []snapshot.Frame{{Function: "g", File: "/b.py", Line: 7}, {Function: "h", File: "/b.py", Line: 9}}},
		},
		Objects: map[string]*snapshot.Object{lock.ID: lock}}
	want, err := snapshot.AppendObjectJSON(nil, lock)
	if err != nil {
		t.Fatal(err)
	}
	e := newEncodedAhead(s, &spareMemory{})
	// A writer that waits for the goroutine, which never begins here, would
	// hang: it is given a few seconds.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range s.Threads {
			want := appendThreadFrames(nil, s.Threads[i].Frames, nil)
			if got := e.thread(i); !bytes.Equal(got, want) {
				t.Errorf("thread %d: %s, want %s", i, got, want)
			}
		}
		if got, ok := e.object(lock); !ok || !bytes.Equal(got, want) {
			t.Errorf("object: %s (%v), want %s", got, ok, want)
		}
		if _, ok := e.object(&snapshot.Object{ID: "other"}); ok {
			t.Errorf("an object not of the snapshot was encoded ahead")
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("the writer waited for a goroutine that never began")
	}
}
