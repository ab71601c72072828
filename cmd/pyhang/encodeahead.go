package main

import (
	"encoding/json"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pyhang/pyhang/snapshot"
)

// encodedAhead is one snapshot's frames and objects as JSON, encoded on
// another goroutine while the snapshot is analysed. The frames are most of a
// report and the objects the next biggest part; nothing in an
// analysis changes either, and on a machine with two CPUs the encoding then
// costs the report little time.
//
// The objects, then the frames a thread at a time, are encoded by whichever
// goroutine takes them first: the report's writer takes what is left when
// it needs it (object, thread), rather than wait. On 102 threads of 50
// frames the encoding took 2.5-3.9 ms and the analysis 1.5-2.6, and the
// other goroutine often began late (its thread woken late, or the other CPU
// still the snapshot's helper's): the writer waited up to 2.7 ms.
type encodedAhead struct {
	threads    []snapshot.Thread // the snapshot's, as the encoding began
	spare      *spareMemory
	frames     [][]byte     // thread i's part, by i
	next       atomic.Int64 // the next thread to encode
	left       atomic.Int64 // threads not yet encoded
	framesDone chan struct{}
	// objects holds each object of the snapshot in JSON: a report's object
	// is written from it when it is the same object (an analysis adds
	// objects of its own, and may replace one under the same id). It is
	// set before objectsDone is closed.
	objects      map[*snapshot.Object][]byte
	objectsDone  chan struct{}
	objectsTaken atomic.Bool
	snapObjects  []*snapshot.Object // the snapshot's, to encode
}

// frameJSONSize is about what one frame takes in JSON, and nativeJSONSize
// one native frame: enough for a thread's part to be allocated once, in most
// cases.
const (
	frameJSONSize  = 320
	nativeJSONSize = 160
)

// objectJSONSize is about what one object takes in JSON (175 bytes on
// average for a thousand locks, queues and threads).
const objectJSONSize = 192

// maxFramesAhead bounds the frames encoded ahead, which are held in memory
// all at once (about 20 MB of JSON at most): a bigger snapshot has its
// frames written as the report is, a thread at a time.
const maxFramesAhead = 64 << 10

// encodeAhead starts encoding the objects of s, then the frames of its
// threads, into spare memory where it has room (spare may be nil). A
// thread's part is its frames list and then, when the thread has native
// frames, its "native" member, as writeReport writes them after the
// thread's "frames" key. It returns nil for a snapshot of more than
// maxFramesAhead frames.
func encodeAhead(s *snapshot.Snapshot, spare *spareMemory) *encodedAhead {
	e := newEncodedAhead(s, spare)
	if e != nil {
		go func() {
			// The objects first: the writer needs them before it writes
			// anything, and takes a share of the frames itself.
			e.encodeSnapshotObjects()
			warmReportEncoder()
			e.encodeFrames()
		}()
	}
	return e
}

// warmReportEncoder has encoding/json build its encoder of a report (the
// fields of every type in it, by reflection) before the writer needs it:
// the writer encodes the report but for its frames and objects with
// encoding/json (writeReport), and that first use cost it about 1.5 ms of a
// 7.6 ms write on a virtual machine where each page first touched traps.
// encoding/json keeps the encoders for the process, and a writer that asks
// while they are being built waits for them. Paired runs, 102 threads
// under 3.12 on such a machine: -2.7 and -0.4 ms (25 and 31 runs).
func warmReportEncoder() {
	_ = json.NewEncoder(io.Discard).Encode((*report)(nil))
}

// newEncodedAhead is s's encoding with nothing encoded yet (nil for more
// than maxFramesAhead frames).
func newEncodedAhead(s *snapshot.Snapshot, spare *spareMemory) *encodedAhead {
	n := 0
	for i := range s.Threads {
		n += len(s.Threads[i].Frames)
	}
	if n > maxFramesAhead {
		return nil
	}
	// The slice and the objects as they are now, read here and not on the
	// other goroutine: the analysis reads them meanwhile, and changes neither.
	e := &encodedAhead{threads: s.Threads, spare: spare, frames: make([][]byte, len(s.Threads)),
		framesDone: make(chan struct{}), objectsDone: make(chan struct{}),
		snapObjects: slices.Collect(maps.Values(s.Objects))}
	e.left.Store(int64(len(s.Threads)))
	if len(s.Threads) == 0 {
		close(e.framesDone)
	}
	return e
}

// encodeSnapshotObjects encodes the snapshot's objects unless another goroutine
// has taken them, and closes objectsDone once they are.
func (e *encodedAhead) encodeSnapshotObjects() {
	if !e.objectsTaken.CompareAndSwap(false, true) {
		return
	}
	e.objects = make(map[*snapshot.Object][]byte, len(e.snapObjects))
	buf := e.spare.take(len(e.snapObjects) * objectJSONSize)
	for _, ob := range e.snapObjects {
		start := len(buf)
		var err error
		if buf, err = snapshot.AppendObjectJSON(buf, ob); err == nil {
			e.objects[ob] = buf[start:len(buf):len(buf)]
		} else {
			buf = buf[:start]
		}
	}
	close(e.objectsDone)
}

// encodeFrames encodes the threads no goroutine has taken yet, one at a
// time, and closes framesDone once the last thread is encoded, by whichever
// goroutine encoded it.
func (e *encodedAhead) encodeFrames() {
	for {
		i := int(e.next.Add(1) - 1)
		if i >= len(e.threads) {
			return
		}
		t := &e.threads[i]
		b := e.spare.take(len(t.Frames)*frameJSONSize + len(t.Native)*nativeJSONSize + 16)
		e.frames[i] = appendThreadFrames(b, t.Frames, t.Native)
		if e.left.Add(-1) == 0 {
			close(e.framesDone)
		}
	}
}

// spareMemory is memory the snapshot's reading no longer needs (the pages
// it read: capture.Options.Spare), which the JSON encoded ahead is written
// into instead of fresh memory: every fresh page costs a fault, more on a
// virtual machine, and the kernel's work again at exit. Each chunk is the
// part of a block not yet taken. Two goroutines take from it (encodedAhead).
type spareMemory struct {
	mu     sync.Mutex
	chunks [][]byte
}

// keep is a capture.Options.Spare.
func (m *spareMemory) keep(mem [][]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.chunks = append(m.chunks, mem...)
}

// take returns an empty slice with room for n bytes, from the first chunk
// with room enough (m may be nil), else fresh. Appending past n reallocates,
// as appending to any full slice does.
func (m *spareMemory) take(n int) []byte {
	if m != nil {
		m.mu.Lock()
		defer m.mu.Unlock()
		for i, c := range m.chunks {
			if len(c) >= n {
				m.chunks[i] = c[n:]
				return c[:0:n]
			}
		}
	}
	return make([]byte, 0, n)
}

// appendThreadFrames appends a thread's frames list and, when it has native
// frames, its "native" member after them.
func appendThreadFrames(b []byte, frames []snapshot.Frame, native []snapshot.NativeFrame) []byte {
	b = snapshot.AppendFramesJSON(b, frames)
	if len(native) > 0 {
		b = append(b, `,"native":`...)
		b = snapshot.AppendNativeFramesJSON(b, native)
	}
	return b
}

// thread is thread i's frames. The caller encodes the threads not yet
// taken, then waits for those the other goroutine is encoding.
func (e *encodedAhead) thread(i int) []byte {
	e.encodeFrames()
	<-e.framesDone
	return e.frames[i]
}

// object is ob in JSON, if it was encoded ahead (never when e is nil). The
// caller encodes the snapshot's objects itself when no goroutine has taken
// them yet, else waits for them.
func (e *encodedAhead) object(ob *snapshot.Object) ([]byte, bool) {
	if e == nil {
		return nil, false
	}
	e.encodeSnapshotObjects()
	<-e.objectsDone
	doc, ok := e.objects[ob]
	return doc, ok
}

// encodeObjects is json.Marshal(objects), with each object encoded ahead
// (e, which may be nil) taken from there.
func encodeObjects(objects map[string]*snapshot.Object, e *encodedAhead) ([]byte, error) {
	if objects == nil {
		return []byte("null"), nil
	}
	// As encoding/json writes a map: keys sorted, each encoded as a string.
	// Into spare memory, touched already, when there is room.
	var spare *spareMemory
	if e != nil {
		spare = e.spare
	}
	doc := spare.take(2 + len(objects)*(objectJSONSize+32))
	doc = append(doc, '{')
	for i, id := range slices.Sorted(maps.Keys(objects)) {
		if i > 0 {
			doc = append(doc, ',')
		}
		doc = append(snapshot.AppendJSONString(doc, id), ':')
		ob := objects[id]
		if enc, ok := e.object(ob); ok {
			doc = append(doc, enc...)
		} else if ob == nil {
			doc = append(doc, "null"...)
		} else {
			var err error
			if doc, err = snapshot.AppendObjectJSON(doc, ob); err != nil {
				return nil, err
			}
		}
	}
	return append(doc, '}'), nil
}

// withEncodingAhead is analyse, with the snapshot's frames and objects
// encoded as JSON beside it (for a report in JSON), unless there are too
// many frames. It is for one process: with --subprocesses, the analysis of
// every process would encode its own, and only the first report's are
// written this way (the others are encoded with the report that holds them).
//
// The JSON goes into spare memory, when the snapshot was taken with
// spare.keep as its capture.Options.Spare (spare may be nil).
func withEncodingAhead(analyse func(*snapshot.Snapshot) *analysis, spare *spareMemory) func(*snapshot.Snapshot) *analysis {
	return func(s *snapshot.Snapshot) *analysis {
		e := encodeAhead(s, spare)
		an := analyse(s)
		an.ahead = e
		return an
	}
}
