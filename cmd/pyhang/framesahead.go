package main

import (
	"github.com/pyhang/pyhang/snapshot"
)

// encodedFrames is every thread's frames of one snapshot as JSON, encoded on
// another goroutine while the snapshot is analysed. The frames are most of a
// report, nothing in an analysis changes them, and on a machine with two
// CPUs the encoding then costs the report no time.
type encodedFrames struct {
	done    chan struct{}
	threads int
	doc     []byte
	ends    []int // thread i's part is doc[ends[i-1]:ends[i]] (from 0 for i == 0)
}

// frameJSONSize is about what one frame takes in JSON: enough for the
// document to be allocated once, in most cases.
const frameJSONSize = 320

// maxFramesAhead bounds the frames encoded ahead, which are held in memory
// all at once (about 20 MB of JSON at most): a bigger snapshot has its
// frames written as the report is, a thread at a time.
const maxFramesAhead = 64 << 10

// encodeFramesAhead starts encoding the frames of s's threads: each thread's
// frames list, and then, when the thread has native frames, its "native"
// member, as writeReport writes them after the thread's "frames" key. It
// returns nil for a snapshot of more than maxFramesAhead frames.
func encodeFramesAhead(s *snapshot.Snapshot) *encodedFrames {
	n := 0
	for i := range s.Threads {
		n += len(s.Threads[i].Frames)
	}
	if n > maxFramesAhead {
		return nil
	}
	e := &encodedFrames{done: make(chan struct{}), threads: len(s.Threads)}
	threads := s.Threads // the slice as it is now: its frames are final
	go func() {
		defer close(e.done)
		e.doc = make([]byte, 0, n*frameJSONSize)
		e.ends = make([]int, len(threads))
		for i := range threads {
			e.doc = appendThreadFrames(e.doc, threads[i].Frames, threads[i].Native)
			e.ends[i] = len(e.doc)
		}
	}()
	return e
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

// thread is thread i's part, once the encoding is done.
func (e *encodedFrames) thread(i int) []byte {
	<-e.done
	start := 0
	if i > 0 {
		start = e.ends[i-1]
	}
	return e.doc[start:e.ends[i]]
}

// withFramesAhead is analyse, with the snapshot's frames encoded as JSON
// beside it (for a report in JSON), unless there are too many of them. It
// is for one process: with --subprocesses, the analysis of every process
// would encode its frames, and only the first report's are written this way
// (the others are encoded with the report that holds them).
func withFramesAhead(analyse func(*snapshot.Snapshot) *analysis) func(*snapshot.Snapshot) *analysis {
	return func(s *snapshot.Snapshot) *analysis {
		e := encodeFramesAhead(s)
		an := analyse(s)
		an.frames = e
		return an
	}
}
