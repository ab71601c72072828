package cpython

import (
	"encoding/binary"
	"strings"
	"testing"
)

// Hand-built hostile memory images: an interpreter whose structures are
// valid enough to be walked, arranged so that every bound pyhang keeps is
// reached at once and the bounds multiply (interpreters × threads × frames ×
// locals × items). They are the seeds of FuzzProcess in raw mode: the image
// is mapped at fuzzBase as it is.

// image is target memory being laid out; offsets are from fuzzBase.
type image struct {
	l *Layout
	b []byte
}

func newImage(l *Layout, size int) *image { return &image{l: l, b: make([]byte, size)} }

func (im *image) addr(off int) uint64 { return fuzzBase + uint64(off) }

func (im *image) u64(off int, v uint64) { binary.LittleEndian.PutUint64(im.b[off:], v) }
func (im *image) u32(off int, v uint32) { binary.LittleEndian.PutUint32(im.b[off:], v) }

// ptr stores at off the address of to.
func (im *image) ptr(off, to int) { im.u64(off, im.addr(to)) }

// ptrAt stores at off+field the address of to; a field of -1 does not exist
// in this version and is left alone.
func (im *image) ptrAt(off int, field int64, to int) {
	if field >= 0 {
		im.ptr(off+int(field), to)
	}
}

// typeObj writes a type object named name at off (its name right after it).
func (im *image) typeObj(off int, name string) {
	im.ptr(off+tpName, off+320)
	copy(im.b[off+320:], name+"\x00")
}

// strObj writes a compact ASCII str at off whose length field says n (the
// bytes that follow are whatever the image holds there).
func (im *image) strObj(off, typ int, n int64, text string) {
	im.ptr(off+obType, typ)
	im.u64(off+strLength, uint64(n))
	im.u32(off+strState, 1<<2|1<<5|1<<6) // kind 1, compact, ascii
	copy(im.b[off+int(im.l.StrASCIIData):], text)
}

// codeObj writes a code object at off with nlocals locals, all named by the
// tuple at names (whose items are strs) and of plain kind.
func (im *image) codeObj(off, typ, name, names, kinds, nlocals int) {
	l := im.l
	im.ptr(off+obType, typ)
	im.ptrAt(off, l.CoName, name)
	im.ptrAt(off, l.CoFilename, name)
	im.ptrAt(off, l.CoQualname, name)
	im.ptrAt(off, l.CoLinetable, kinds)
	im.ptrAt(off, l.CoExceptiontable, kinds)
	im.u32(off+int(l.CoFirstlineno), 1)
	if l.CoNlocalsplus >= 0 {
		im.u32(off+int(l.CoNlocalsplus), uint32(nlocals))
		im.ptrAt(off, l.CoLocalsNames, names)
		im.ptrAt(off, l.CoLocalsKinds, kinds)
	} else {
		im.u32(off+int(l.CoNlocals), uint32(nlocals))
		im.ptrAt(off, l.CoVarnames, names)
	}
}

// frameObj writes a frame at off running code, whose caller is back and
// whose nlocals locals point at values, in turn.
func (im *image) frameObj(off, back, code, globals, nlocals int, values []int) {
	l := im.l
	if l.Minor <= 10 {
		im.ptr(off+int(l.FBack), back)
		im.ptr(off+int(l.FCode), code)
		im.ptr(off+int(l.FrameGlobals), globals)
		im.u32(off+int(l.FLasti), 0xffffffff) // not started: the first line
		for i := range nlocals {
			im.ptr(off+int(l.FLocalsplus)+8*i, values[i%len(values)])
		}
		return
	}
	im.ptr(off+int(l.IFPrevious), back)
	im.ptr(off+int(l.IFCode), code)
	im.ptr(off+int(l.FrameGlobals), globals)
	im.ptr(off+int(l.IFInstr), code+int(l.CoCodeAdaptive))
	im.b[off+int(l.IFOwner)] = 0 // owned by the thread
	for i := range nlocals {
		im.ptr(off+int(l.IFLocalsplus)+8*i, values[i%len(values)])
	}
}

// threadState writes a thread state at off whose frame pointer is frame
// (through a _PyCFrame at cframe on 3.11/3.12) and whose next is next.
func (im *image) threadState(off, next, frame, cframe int, ident uint64) {
	l := im.l
	im.ptr(off+int(l.TstateNext), next)
	im.u64(off+int(l.TstateThreadID), ident)
	if l.CFrameCurrentFrame >= 0 {
		im.ptr(off+int(l.TstateFrame), cframe)
		im.ptr(cframe+int(l.CFrameCurrentFrame), frame)
		return
	}
	im.ptr(off+int(l.TstateFrame), frame)
}

// Offsets of the crafted images. The interpreter state of 3.13/3.14 is
// 7.7 KB before the fields read, so it sits alone from 4 KiB to 12 KiB; the
// names tuple is last, with room for all the items a code object may name,
// and the dict's entries lie over it.
const (
	imgInterp  = 0x1000
	imgTypes   = 0x3000 // code, str, list, dict, tuple, Thing: 0x200 apart
	imgStr     = 0x3c00 // a str of 2^40 characters
	imgStrT    = 0x3c80 // "threading"
	imgStrA    = 0x3d00 // "_active"
	imgKinds   = 0x3d80 // a bytes object of zero kinds, also the tables
	imgList    = 0x3e00 // a list holding itself
	imgDict    = 0x3f00
	imgInst    = 0x3f80 // a Thing whose __dict__ is the dict
	imgModule  = 0x3fc0 // a module whose dict is the dict
	imgCode    = 0x4000
	imgCFrame  = 0x4300
	imgFrames  = 0x4400 // up to 0x4800: room for 80 locals
	imgThreads = 0x4800 // thread states, 0x100 apart
	imgNames   = 0x7000 // a tuple of strs
	imgSize    = 64 << 10

	imgFrameLocals = 80
	imgMaxThreads  = (imgNames - imgThreads) / 0x100
)

// shape says how a crafted image multiplies the bounds.
type shape struct {
	loopInterps bool // the interpreter list loops on itself (else: one interpreter)
	threads     int  // thread states in a list whose last points back at the first
	locals      int  // co_nlocals of the one code object
	badCode     bool // the frame's code is a list: no frame can be decoded
	listLocals  bool // every local is the list (else: each kind of object in turn)
}

// cyclicImage is an image that multiplies every bound: every thread runs
// the same frame whose caller is itself, and the frame's locals are, in
// turn (or all, listLocals), a list of 2^28 items that holds itself, a dict that holds itself
// under over a thousand keys (and claims 2^40), a tuple of 2^28 strs, a str of 2^40
// characters, and an instance whose __dict__ is that dict. The dict is also
// sys.modules, sys.__dict__, every frame's globals, the "threading" module's
// dict and its _active. Past the 80 locals the frame has room for, a code
// object naming more reads on through the thread states and the tuple.
func cyclicImage(l *Layout, sh shape) []byte {
	im := newImage(l, imgSize)
	typ := func(i int) int { return imgTypes + 0x200*i }
	for i, n := range []string{"code", "str", "list", "dict", "tuple", "Thing"} {
		im.typeObj(typ(i), n)
	}
	codeT, strT, listT, dictT, tupleT, thingT := typ(0), typ(1), typ(2), typ(3), typ(4), typ(5)

	im.ptr(int(l.RuntimeInterpHead), imgInterp)
	im.ptr(int(l.RuntimeInterpMain), imgInterp)
	if sh.loopInterps {
		im.ptr(imgInterp+int(l.InterpNext), imgInterp)
	}
	im.ptr(imgInterp+int(l.InterpThreadsHead), imgThreads)
	im.ptr(imgInterp+int(l.InterpModules), imgDict)
	im.ptr(imgInterp+int(l.InterpSysdict), imgDict)

	im.strObj(imgStr, strT, 1<<40, "x")
	im.strObj(imgStrT, strT, 9, "threading")
	im.strObj(imgStrA, strT, 7, "_active")
	im.ptr(imgNames+obType, tupleT)
	im.u64(imgNames+obSize, 1<<28)
	for i := imgNames + int(l.TupleItems); i+8 <= imgSize; i += 8 {
		im.ptr(i, imgStr)
	}
	im.u64(imgKinds+obSize, 64) // bytes: 64 zero bytes
	// The list's item array is the list's own header and what follows it.
	im.ptr(imgList+obType, listT)
	im.u64(imgList+obSize, 1<<28)
	im.ptr(imgList+listItems, imgList+obType+8)
	for i := imgList + 32; i < imgDict; i += 8 {
		im.ptr(i, imgList)
	}
	// The dict's entries lie over the tuple's items (str → str), but for
	// the first three.
	im.ptr(imgDict+obType, dictT)
	im.u64(imgDict+dictUsed, 1<<40)
	keys := imgDict + 48
	im.ptr(imgDict+dictKeys, keys)
	var entry func(i int, k, v int)
	if l.DictNew {
		im.b[keys+9], im.b[keys+10] = 14, 1 // 2^14 bytes of index, unicode entries
		at := keys + 32 + 1<<14
		im.u64(keys+24, uint64(imgSize-at)/16)
		entry = func(i int, k, v int) { im.ptr(at+16*i, k); im.ptr(at+16*i+8, v) }
	} else {
		im.u64(keys+8, 0x2000) // 2-byte indices
		at := keys + 40 + 2*0x2000
		im.u64(keys+32, uint64(imgSize-at)/24)
		entry = func(i int, k, v int) { im.ptr(at+24*i+8, k); im.ptr(at+24*i+16, v) }
	}
	entry(0, imgStrT, imgModule)
	entry(1, imgStrA, imgDict)
	entry(2, imgStr, imgDict)
	im.ptr(imgModule+moduleDict, imgDict)
	im.ptr(imgInst+obType, thingT)
	im.u64(thingT+tpDictoffset, 16)
	im.ptr(imgInst+16, imgDict)

	code := imgCode
	if sh.badCode {
		code = imgList
	}
	im.codeObj(imgCode, codeT, imgStr, imgNames, imgKinds, sh.locals)
	values := []int{imgList, imgDict, imgNames, imgStr, imgInst}
	if sh.listLocals {
		values = values[:1]
	}
	im.frameObj(imgFrames, imgFrames, code, imgDict, min(sh.locals, imgFrameLocals), values)
	const stride = 0x100
	for i := range sh.threads {
		next := imgThreads + stride*((i+1)%sh.threads)
		im.threadState(imgThreads+stride*i, next, imgFrames, imgCFrame, uint64(i+1))
	}
	return im.b
}

// TestCyclicImage checks that the crafted image is what it claims, read
// piece by piece with each version's layout.
func TestCyclicImage(t *testing.T) {
	for minor := 8; minor <= 14; minor++ {
		l, _ := LayoutFor(minor)
		p := fuzzProcess(l, cyclicImage(l, shape{loopInterps: true, threads: 3, locals: 5}), true)
		interp, err := p.r.u64(p.Runtime + uint64(l.RuntimeInterpHead))
		if err != nil || interp != fuzzBase+imgInterp {
			t.Fatalf("3.%d: interpreters.head = %#x, %v", minor, interp, err)
		}
		if next, _ := p.r.u64(interp + uint64(l.InterpNext)); next != interp {
			t.Errorf("3.%d: the interpreter list does not loop: next %#x", minor, next)
		}
		ts, err := p.threadState(fuzzBase+imgThreads, interp)
		if err != nil || len(ts.Frames) != maxFrames || ts.Err == nil {
			t.Fatalf("3.%d: thread state: %d frames, %v, %v", minor, len(ts.Frames), ts.Err, err)
		}
		if !strings.Contains(ts.Err.Error(), "loops back") {
			t.Errorf("3.%d: a chain that loops is cut with %q, which does not say it loops", minor, ts.Err)
		}
		fr := ts.Frames[0]
		if fr.Function == "" || fr.Function[0] != 'x' || len(fr.Locals) != 5 {
			t.Fatalf("3.%d: frame %+v", minor, fr)
		}
		for i, want := range []string{"list", "dict", "tuple", "str", "Thing"} {
			if got := p.TypeName(fr.Locals[i].Value); got != want {
				t.Errorf("3.%d: local %d is a %q, want %q", minor, i, got, want)
			}
		}
		if d, err := p.Module("threading"); err != nil || d != fuzzBase+imgDict {
			t.Errorf("3.%d: threading module: %#x, %v", minor, d, err)
		}
		if attrs := p.InstanceAttrs(fuzzBase + imgInst); len(attrs) < 3 {
			t.Errorf("3.%d: the instance has %d attributes", minor, len(attrs))
		}
		if n, _ := p.dictItems(fuzzBase+imgDict, maxDictItems); len(n) < 1000 {
			t.Errorf("3.%d: the dict has %d items", minor, len(n))
		}
		bad := fuzzProcess(l, cyclicImage(l, shape{threads: 1, locals: 5, badCode: true}), true)
		if ts, _ := bad.threadState(fuzzBase+imgThreads, interp); len(ts.Frames) != 0 || ts.Err == nil {
			t.Errorf("3.%d: a frame without code: %d frames, %v", minor, len(ts.Frames), ts.Err)
		}
	}
}
