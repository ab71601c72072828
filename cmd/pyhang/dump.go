package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/capture"
	"github.com/spf13/cobra"
)

// targetFlags are shared by every command that reads a target.
type targetFlags struct {
	nonBlocking  bool
	stop         bool
	exe          string
	sysroot      string
	format       string
	native       bool
	subprocesses bool
}

// register adds the target flags and --format.
func (f *targetFlags) register(c *cobra.Command) {
	f.registerTarget(c)
	c.Flags().StringVar(&f.format, "format", "text", "output format: text or json")
}

// registerTarget adds the flags that say how to read the target.
func (f *targetFlags) registerTarget(c *cobra.Command) {
	c.Flags().BoolVar(&f.nonBlocking, "nonblocking", false, "never stop a live target (the snapshot may be inconsistent)")
	c.Flags().BoolVar(&f.stop, "stop", false, "stop a live target while its memory is copied, even when the kernel shows that none of its threads runs (then it is read without a stop)")
	c.Flags().StringVar(&f.exe, "exe", "", "core: local copy of the executable that wrote the core")
	c.Flags().StringVar(&f.sysroot, "sysroot", "", "core: folder holding copies of the files the process mapped")
	c.Flags().BoolVar(&f.subprocesses, "subprocesses", false, "also read the target's child processes (and theirs) that run Python; live targets only")
}

// registerNative adds --native.
func (f *targetFlags) registerNative(c *cobra.Command) {
	c.Flags().BoolVar(&f.native, "native", false, "also show every thread's native (C) stack, Python frames beside the interpreter frames that run them")
}

func (f *targetFlags) options() capture.Options {
	return capture.Options{NonBlocking: f.nonBlocking, AlwaysStop: f.stop, Exe: f.exe, Sysroot: f.sysroot, Native: f.native}
}

var errStopNonBlocking = errors.New("--stop and --nonblocking contradict each other: give one of them")

func (f *targetFlags) check() error {
	if f.stop && f.nonBlocking {
		return errStopNonBlocking
	}
	return checkFormat(f.format)
}

type dumpFlags struct {
	targetFlags
	locals localsFlags
}

func newDumpCmd() *cobra.Command {
	var f dumpFlags
	c := &cobra.Command{
		Use:   "dump TARGET",
		Short: "Every thread's Python stack (py-bt for every thread)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if err := f.check(); err != nil {
				return err
			}
			opts := f.options()
			if opts.Locals, opts.LocalsLimits, err = f.locals.limits(cmd); err != nil {
				return err
			}
			// The text prints stacks as py-bt does, from the snapshot
			// alone; the JSON's threads carry their waits and holds.
			analyse := snapshotOnly
			if f.format == "json" {
				analyse = analyseLocks
				if !f.subprocesses {
					spare := &spareMemory{}
					opts.Spare = spare.keep
					analyse = withEncodingAhead(analyse, spare) // see withEncodingAhead
				}
			}
			fam, err := takeFamily(args[0], opts, f.subprocesses, analyse)
			if err != nil {
				return err
			}
			if f.format == "json" {
				// The contract's threads carry what each waits on and holds;
				// a dump has no findings, so the graph and the heuristics
				// that find them did not run.
				return writeJSON(cmd.OutOrStdout(), fam.report(false))
			}
			// Buffered: a --native dump of a big process is tens of thousands of lines.
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			writeDump(w, fam.root.snap)
			fam.writeSubprocesses(w, func(w io.Writer, an *analysis) { writeDump(w, an.snap) })
			return w.Flush()
		},
	}
	f.register(c)
	f.registerNative(c)
	f.locals.register(c)
	return c
}

// writeJSON writes v as one line: the JSON is for tools (pipe it to jq for a
// person), and indenting a 48k-frame report costs six times the encoding.
func writeJSON(w io.Writer, v any) error {
	if r, ok := v.(*report); ok {
		return writeReport(w, r)
	}
	return json.NewEncoder(w).Encode(v)
}

// framesKey and objectsKey are how encoding/json writes a thread's frames
// and a report's objects left nil.
var (
	framesKey  = []byte(`"frames":null`)
	objectsKey = []byte(`"objects":null`)
)

// writeReport writes a report as json.Encoder does, byte for byte, but has
// the frames, most of a report, written by snapshot.AppendFramesJSON, which
// costs a fraction of encoding/json's reflection, and the objects encoded on
// another goroutine while the rest is. The report is encoded with each
// thread's frames and the objects left nil, and each "frames":null, then
// "objects":null, is replaced. (The sequences cannot occur inside a string,
// whose quotes are escaped; the threads' frames come first and in order, the
// target before them has none; the objects follow the threads, and nothing
// in a thread has objects.) A thread's native frames (--native), the field
// after its frames and absent when nil, are left out the same way and written
// after its frames by snapshot.AppendNativeFramesJSON. A thread's
// "waiting_on":null,"holds":null, which follows its frames, is replaced by
// what appendClaims writes. What was encoded beside the analysis
// (withEncodingAhead) is used.
func writeReport(w io.Writer, r *report) error {
	frames := make([][]snapshot.Frame, len(r.Threads))
	natives := make([][]snapshot.NativeFrame, len(r.Threads))
	waits := make([]*reportWait, len(r.Threads))
	holds := make([][]reportHold, len(r.Threads))
	for i := range r.Threads {
		t := &r.Threads[i]
		frames[i], natives[i], waits[i], holds[i] = t.Frames, t.Native, t.WaitingOn, t.Holds
		t.Frames, t.Native, t.WaitingOn, t.Holds = nil, nil, nil, nil
	}
	objects := r.Objects
	r.Objects = nil
	defer func() {
		for i := range r.Threads {
			t := &r.Threads[i]
			t.Frames, t.Native, t.WaitingOn, t.Holds = frames[i], natives[i], waits[i], holds[i]
		}
		r.Objects = objects
	}()
	type encoded struct {
		doc []byte
		err error
	}
	// The objects are encoded on another goroutine while the rest is, or
	// here once the rest is, when that goroutine has not begun by then: its
	// thread may be woken late (102 threads, 3.12: this goroutine waited up
	// to 0.6 ms), and objects encoded ahead are quick to write.
	objectsDone := make(chan encoded, 1)
	var taken atomic.Bool
	encodeObjectsOnce := func() {
		if taken.CompareAndSwap(false, true) {
			doc, err := encodeObjects(objects, r.ahead)
			objectsDone <- encoded{doc, err}
		}
	}
	go encodeObjectsOnce()
	var enc bytes.Buffer
	err := json.NewEncoder(&enc).Encode(r)
	encodeObjectsOnce()
	objs := <-objectsDone
	if err != nil {
		return err
	}
	if objs.err != nil {
		return objs.err
	}
	doc := enc.Bytes()
	ahead := r.ahead
	if ahead != nil && len(ahead.threads) != len(r.Threads) {
		ahead = nil
	}
	// Written as it is made, through one buffer: the whole document would
	// be megabytes of fresh memory.
	bw := bufio.NewWriterSize(w, 256<<10)
	var buf []byte
	for k := range frames {
		i := bytes.Index(doc, framesKey)
		if i < 0 {
			return fmt.Errorf("encoding the report: a thread's frames are missing")
		}
		bw.Write(doc[:i+len(framesKey)-len("null")])
		if ahead != nil {
			bw.Write(ahead.thread(k))
		} else {
			buf = appendThreadFrames(buf[:0], frames[k], natives[k])
			bw.Write(buf)
		}
		doc = doc[i+len(framesKey):]
		if i = bytes.Index(doc, claimsKey); i < 0 {
			return fmt.Errorf("encoding the report: a thread's waits and holds are missing")
		}
		bw.Write(doc[:i])
		buf = appendClaims(buf[:0], waits[k], holds[k])
		bw.Write(buf)
		doc = doc[i+len(claimsKey):]
	}
	i := bytes.Index(doc, objectsKey)
	if i < 0 {
		return fmt.Errorf("encoding the report: the objects are missing")
	}
	bw.Write(doc[:i+len(objectsKey)-len("null")])
	bw.Write(objs.doc)
	bw.Write(doc[i+len(objectsKey):])
	return bw.Flush()
}
