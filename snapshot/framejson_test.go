package snapshot

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// hostile holds every kind of character encoding/json escapes.
const hostile = "a\"b\\c\x00\x01\x1f\b\f\n\r\t<module>&\u2028\u2029\xff\xfe é 日本 \U0001F600 \x7f"

func sampleFrames() []Frame {
	return []Frame{
		{Function: "<module>", Qualname: "<module>", File: "/app/main.py", Line: 12},
		{Function: "f", Qualname: "C.f", File: "x.py", Line: -1, FirstLine: 3, Source: "with lock:  # <&>",
			Locals: map[string]string{"z": "1", "a": "<unlocked _thread.lock object at 0x7f>", hostile: hostile},
			Refs:   map[string]string{"self.lock": "lock@0x7f00", "lock": "lock@0x7f00"},
			With:   []string{"lock@0x7f00", "object@0x10"}, Module: "module@0x55", Addr: 0x7f0012345678,
			URLs: map[string]string{"url": "http://h/<&>"}, Calling: &Call{Object: "lock@0x7f00", Method: "acquire", Via: "stack-pointer"}, Native: new(int)},
		{Function: hostile, Qualname: hostile, File: hostile, Source: hostile, Module: hostile, With: []string{hostile}},
		{Locals: map[string]string{}, Refs: map[string]string{}, With: []string{}},
	}
}

// TestFramesJSONAsEncodingJSON holds AppendFramesJSON to encoding/json's bytes.
func TestFramesJSONAsEncodingJSON(t *testing.T) {
	for _, frames := range [][]Frame{nil, {}, sampleFrames()} {
		want, err := json.Marshal(frames)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendFramesJSON(nil, frames); !bytes.Equal(got, want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

// TestFramesJSONRepeatedStrings: strings a frame list repeats, and strings of
// the same length, escaped and not, in turn, as knownSafe sees them.
func TestFramesJSONRepeatedStrings(t *testing.T) {
	var frames []Frame
	for i, s := range []string{"abc", "a<c", "abc", "a\nc", "a<c", "abc", "ab\xff", "abc"} {
		frames = append(frames, Frame{Function: s, Qualname: s, File: s + ".py", Source: s, Line: i,
			Refs: map[string]string{s: s, "self": "lock@0x1"}, With: []string{s, s}})
	}
	want, err := json.Marshal(frames)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendFramesJSON(nil, frames); !bytes.Equal(got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestFramesJSONKnownPlaces: frames that share a place's cache slot (the
// same line and column), each right after one that differs from it in one
// member of the place only, so that a member the cache does not compare
// shows; each also right after itself, written from the cache. A nil
// position and a zero one, and a negative one, which is never cached.
func TestFramesJSONKnownPlaces(t *testing.T) {
	zero, one, minus := 0, 1, -1
	base := Frame{Function: "f", Qualname: "C.f", File: "/a.py", Line: 7, FirstLine: 3, Source: "x = 1", SourceIndent: 4,
		EndLine: &one, Column: &zero, EndColumn: &one}
	vary := []func(*Frame){
		func(*Frame) {},
		func(f *Frame) { f.Function = "g" },
		func(f *Frame) { f.Qualname = "C.g" },
		func(f *Frame) { f.File = "/b.py" },
		func(f *Frame) { f.Source = "y = 2" },
		func(f *Frame) { f.SourceIndent = 0 },
		func(f *Frame) { f.FirstLine = 0 },
		func(f *Frame) { f.LineBasis = "loop-head" },
		func(f *Frame) { f.Column = nil },
		func(f *Frame) { f.EndLine = nil },
		func(f *Frame) { f.EndColumn = &minus },
		func(f *Frame) { f.Refs = map[string]string{"self": "lock@0x1"}; f.Addr = 0x7f00 },
	}
	var frames []Frame
	for _, v := range vary {
		f := base
		v(&f)
		frames = append(frames, base, f, f)
	}
	want, err := json.Marshal(frames)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendFramesJSON(nil, frames); !bytes.Equal(got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func FuzzFramesJSON(f *testing.F) {
	f.Add("f", "C.f", "/a.py", 3, "x = 1", "k", "v", uint64(0x7f00))
	f.Add(hostile, hostile, hostile, -1, hostile, hostile, hostile, uint64(0))
	f.Fuzz(func(t *testing.T, fn, qn, file string, line int, src, k, v string, addr uint64) {
		frames := []Frame{{Function: fn, Qualname: qn, File: file, Line: line, FirstLine: line / 2, Source: src,
			Locals: map[string]string{k: v, v: k}, Refs: map[string]string{k: v}, With: []string{k, v}, Module: v, Addr: Addr(addr),
			URLs: map[string]string{v: k}, Calling: &Call{Object: k, Method: v, Via: fn}, Native: &line,
			SignalHandler: &FrameSignal{Number: line, Name: src}}}
		want, err := json.Marshal(frames)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendFramesJSON(nil, frames); !bytes.Equal(got, want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
}

// TestFramesJSONCoversEveryField sets every field of a Frame, whatever fields
// it has by now, so that a field added to Frame and not to AppendFramesJSON fails.
func TestFramesJSONCoversEveryField(t *testing.T) {
	var f Frame
	v := reflect.ValueOf(&f).Elem()
	for i := 0; i < v.NumField(); i++ {
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString("s" + v.Type().Field(i).Name)
		case reflect.Int, reflect.Int64:
			fv.SetInt(int64(i + 1))
		case reflect.Uint64:
			fv.SetUint(uint64(0x1000 + i))
		case reflect.Map:
			fv.Set(reflect.ValueOf(map[string]string{"k": "v"}))
		case reflect.Slice:
			switch fv.Type().Elem().Kind() {
			case reflect.String:
				fv.Set(reflect.ValueOf([]string{"w"}))
			case reflect.Struct:
				// Encoded through encoding/json itself: one element with
				// every field set is enough to see it is there.
				e := reflect.New(fv.Type().Elem()).Elem()
				for k := 0; k < e.NumField(); k++ {
					switch ek := e.Field(k); ek.Kind() {
					case reflect.String:
						ek.SetString(hostile + e.Type().Field(k).Name)
					case reflect.Bool:
						ek.SetBool(true)
					case reflect.Pointer:
						ek.Set(reflect.New(ek.Type().Elem()))
					}
				}
				fv.Set(reflect.Append(reflect.MakeSlice(fv.Type(), 0, 1), e))
			default:
				t.Fatalf("Frame.%s: a slice of %s; teach this test and AppendFramesJSON about it", v.Type().Field(i).Name, fv.Type().Elem().Kind())
			}
		case reflect.Pointer:
			p := reflect.New(fv.Type().Elem())
			switch e := p.Elem(); e.Kind() {
			case reflect.Int:
				e.SetInt(int64(i))
			case reflect.Struct:
				for k := 0; k < e.NumField(); k++ {
					switch e.Field(k).Kind() {
					case reflect.String:
						e.Field(k).SetString(hostile + e.Type().Field(k).Name)
					case reflect.Int:
						e.Field(k).SetInt(int64(40 + k))
					default:
						t.Fatalf("Frame.%s.%s: a %s field; teach this test and AppendFramesJSON about it",
							v.Type().Field(i).Name, e.Type().Field(k).Name, e.Field(k).Kind())
					}
				}
			default:
				t.Fatalf("Frame.%s: a pointer to %s; teach this test and AppendFramesJSON about it", v.Type().Field(i).Name, e.Kind())
			}
			fv.Set(p)
		default:
			t.Fatalf("Frame.%s: a %s field; teach this test and AppendFramesJSON about it", v.Type().Field(i).Name, fv.Kind())
		}
	}
	want, _ := json.Marshal([]Frame{f})
	if got := AppendFramesJSON(nil, []Frame{f}); !bytes.Equal(got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestNativeFramesJSONAsEncodingJSON holds AppendNativeFramesJSON to
// encoding/json's bytes, every field of NativeFrame set and left zero.
func TestNativeFramesJSONAsEncodingJSON(t *testing.T) {
	var full NativeFrame
	v := reflect.ValueOf(&full).Elem()
	for i := 0; i < v.NumField(); i++ {
		switch fv := v.Field(i); fv.Kind() {
		case reflect.String:
			fv.SetString(hostile + v.Type().Field(i).Name)
		case reflect.Int:
			fv.SetInt(-int64(i + 1))
		case reflect.Uint64:
			fv.SetUint(1<<63 + uint64(i))
		case reflect.Bool:
			fv.SetBool(true)
		case reflect.Pointer:
			if fv.Type() != reflect.TypeOf(full.Interrupted) {
				t.Fatalf("NativeFrame.%s: a pointer of a new type; teach this test and AppendNativeFramesJSON about it", v.Type().Field(i).Name)
			}
			full.Interrupted = &SignalContext{PC: 0x7f0000001234, SP: 1<<64 - 8, Trap: -14, ErrorCode: 1<<63 + 6, FaultAddr: 0}
		default:
			t.Fatalf("NativeFrame.%s: a %s field; teach this test and AppendNativeFramesJSON about it", v.Type().Field(i).Name, fv.Kind())
		}
	}
	frames := []NativeFrame{full, {}, {PC: 0x7f0012345678, Symbol: "sem_clockwait", Offset: 0x8b, Module: "libc.so.6"},
		{PC: 1, Offset: 0x1234, Module: "python3.8", File: "Python/ceval.c", Line: 1234}}
	for _, frames := range [][]NativeFrame{nil, {}, frames} {
		want, err := json.Marshal(frames)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendNativeFramesJSON(nil, frames); !bytes.Equal(got, want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func FuzzNativeFramesJSON(f *testing.F) {
	f.Add(uint64(0x7f00), "sem_clockwait", uint64(0x8b), "libc.so.6", "", 0, false)
	f.Add(uint64(0), hostile, uint64(1<<63), hostile, hostile, -1, true)
	f.Fuzz(func(t *testing.T, pc uint64, sym string, off uint64, mod, file string, line int, signal bool) {
		frames := []NativeFrame{{PC: Addr(pc), Symbol: sym, Offset: off, Module: mod, File: file, Line: line, SignalFrame: signal}}
		want, err := json.Marshal(frames)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendNativeFramesJSON(nil, frames); !bytes.Equal(got, want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
}
