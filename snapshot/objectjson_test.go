package snapshot

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

func sampleObjects() map[string]*Object {
	t, f := true, false
	zero, n := 0, 7
	fd := 5
	timeouts := []float64{-1, 0, 0.5, 1e-7, 3.25e21, 123456789.125, -2.5e-9}
	objs := map[string]*Object{
		"lock@0x10":   {ID: "lock@0x10", Kind: KindLock, Type: "_thread.lock", Addr: 0x10, Locked: &t, WaitKey: 0x20, Names: []string{"ledger", hostile}, Global: "ledger"},
		"rlock@0x30":  {ID: "rlock@0x30", Kind: KindRLock, Type: "_thread.RLock", Addr: 0x30, Locked: &f, Owner: 1 << 60, Count: 2},
		"deque@0x40":  {ID: "deque@0x40", Kind: KindDeque, Type: "collections.deque", Addr: 0x40, Len: &zero},
		"queue@0x50":  {ID: "queue@0x50", Kind: KindQueue, Type: "Queue", Addr: 0x50, Attrs: map[string]string{"not_empty": "condition@0x60", hostile: hostile}, Len: &n},
		"thread@0x70": {ID: "thread@0x70", Kind: KindThread, Type: "Thread", Addr: 0x70, Ident: 140000000000, Value: hostile},
		hostile:       nil,
	}
	for i, to := range timeouts {
		to := to
		id := "socket@" + string(rune('a'+i))
		objs[id] = &Object{ID: id, Kind: KindSocket, Type: "socket", Addr: Addr(0x100 + i), Timeout: &to, FD: &fd,
			Socket: &SocketInfo{Inode: uint64(1000 + i), Peer: []string{"", "127.0.0.1:80"}[i%2], State: "ESTABLISHED"}, Unfinished: &n}
	}
	return objs
}

func TestObjectsJSONAsEncodingJSON(t *testing.T) {
	for _, objs := range []map[string]*Object{nil, {}, sampleObjects()} {
		want, err := json.Marshal(objs)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := AppendObjectsJSON(nil, objs)
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("ok %v\ngot  %s\nwant %s", ok, got, want)
		}
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		objs := map[string]*Object{"s": {ID: "s", Timeout: &bad}}
		if _, err := json.Marshal(objs); err == nil {
			t.Fatalf("encoding/json took a %v timeout", bad)
		}
		if got, ok := AppendObjectsJSON([]byte("x"), objs); ok || string(got) != "x" {
			t.Errorf("a %v timeout: %q, %v; want refused", bad, got, ok)
		}
	}
}

// TestObjectsJSONCoversEveryField sets every field of an Object, whatever
// fields it has by now.
func TestObjectsJSONCoversEveryField(t *testing.T) {
	var o Object
	v := reflect.ValueOf(&o).Elem()
	for i := 0; i < v.NumField(); i++ {
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString("s" + v.Type().Field(i).Name)
		case reflect.Int:
			fv.SetInt(int64(i + 1))
		case reflect.Uint64:
			fv.SetUint(uint64(0x1000 + i))
		case reflect.Map:
			fv.Set(reflect.ValueOf(map[string]string{"k": "v"}))
		case reflect.Slice:
			fv.Set(reflect.ValueOf([]string{"w"}))
		case reflect.Pointer:
			p := reflect.New(fv.Type().Elem())
			switch p.Elem().Kind() {
			case reflect.Bool:
				p.Elem().SetBool(true)
			case reflect.Int:
				p.Elem().SetInt(int64(i))
			case reflect.Float64:
				p.Elem().SetFloat(1.5)
			case reflect.Struct:
				for k := 0; k < p.Elem().NumField(); k++ {
					switch f := p.Elem().Field(k); f.Kind() {
					case reflect.String:
						f.SetString(hostile + p.Elem().Type().Field(k).Name)
					case reflect.Uint64:
						f.SetUint(uint64(77 + k))
					default:
						t.Fatalf("Object.%s.%s: a %s field; teach this test and AppendObjectsJSON", v.Type().Field(i).Name, p.Elem().Type().Field(k).Name, f.Kind())
					}
				}
			default:
				t.Fatalf("Object.%s: a pointer to %s; teach this test and AppendObjectsJSON", v.Type().Field(i).Name, p.Elem().Kind())
			}
			fv.Set(p)
		default:
			t.Fatalf("Object.%s: a %s field; teach this test and AppendObjectsJSON about it", v.Type().Field(i).Name, fv.Kind())
		}
	}
	objs := map[string]*Object{"o": &o}
	want, _ := json.Marshal(objs)
	if got, _ := AppendObjectsJSON(nil, objs); !bytes.Equal(got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func FuzzObjectsJSON(f *testing.F) {
	f.Add("lock@0x10", "x", uint64(1), 2, 0.25, true)
	f.Add(hostile, hostile, uint64(1<<63), -1, 1e-9, false)
	f.Fuzz(func(t *testing.T, id, s string, u uint64, n int, fl float64, b bool) {
		if math.IsNaN(fl) || math.IsInf(fl, 0) {
			return
		}
		objs := map[string]*Object{id: {ID: id, Kind: s, Type: s, Addr: Addr(u), Locked: &b, Owner: u, Count: n, WaitKey: Addr(u >> 1),
			Attrs: map[string]string{s: id}, Len: &n, Ident: u, Value: s, Timeout: &fl, FD: &n, Names: []string{s, id}, Global: s, Children: []string{id}}, s: nil}
		want, err := json.Marshal(objs)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := AppendObjectsJSON(nil, objs); !ok || !bytes.Equal(got, want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
}
