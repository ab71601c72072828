package cpython

import (
	"runtime"
	"testing"
)

// FuzzAsyncio runs the asyncio readers over hostile memory with every
// version's layout, from every 8-byte offset of the first 4 KiB: tasks,
// await chains, loops, sets and weak sets, and the registry walk. Whatever
// the bytes, they must end without a panic, allocating less than
// maxFuzzAlloc.
func FuzzAsyncio(f *testing.F) {
	seed := make([]byte, 8192)
	for i := range seed {
		seed[i] = byte(i * 37)
	}
	for minor := uint8(0); minor < 7; minor++ {
		f.Add(minor, seed)
		f.Add(minor, make([]byte, 4096))
	}
	f.Fuzz(func(t *testing.T, minor uint8, in []byte) {
		if len(in) > 1<<16 {
			return
		}
		l, err := LayoutFor(8 + int(minor%7))
		if err != nil {
			t.Fatal(err)
		}
		p := fuzzProcess(l, in, false)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ts, _ := p.Threads()
		p.AsyncioTasks(ts)
		objs := p.NewObjects()
		count := func(uint64) {}
		for off := 0; off+8 <= 4096; off += 8 {
			v := fuzzBase + uint64(off)
			p.task(v)
			p.awaitChain(v)
			p.EventLoop(v)
			p.setItems(v, count)
			p.weakSet(v, count)
			p.FutureState(v)
			objs.Add(v)
		}
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxFuzzAlloc {
			t.Fatalf("3.%d: allocated %.2f GiB (bound %d MiB)", l.Minor, float64(alloc)/(1<<30), maxFuzzAlloc>>20)
		}
	})
}
