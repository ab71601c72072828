package snapshot

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

func sampleObjects() []Object {
	locked, n, fd := true, 3, 7
	timeout := 0.25
	return []Object{
		{ID: "lock@0x7f00", Kind: "lock", Type: "lock", Addr: 0x7f00, Locked: &locked},
		{ID: "rlock@0x7f10", Kind: "rlock", Type: "RLock", Addr: 0x7f10, Owner: 0x7f55aa, Count: 2, Shared: true, WaitKey: 0x7f18,
			Names: []string{"ledger", "Bank.<lock>&"}, Global: "ledger"},
		{ID: "condition@0x10", Kind: "condition", Type: "Condition", Attrs: map[string]string{"_lock": "lock@0x7f00", "_waiters": "deque@0x20", hostile: hostile}, Len: &n},
		{ID: "socket@0x30", Kind: "socket", Type: "socket", Timeout: &timeout, FD: &fd,
			Socket: &SocketInfo{Inode: 99, Proto: "tcp", Local: "127.0.0.1:1", Peer: "<&>", State: "ESTABLISHED"}},
		{ID: hostile, Kind: hostile, Type: hostile, Value: hostile, Module: hostile, Global: hostile, Names: []string{hostile},
			Children: []string{"task@0x1"}, Queued: []string{"future@0x2", hostile}, NativeID: -1, Ident: math.MaxUint64},
		{Attrs: map[string]string{}, Names: []string{}, Children: []string{}, Queued: []string{}},
		{ID: "object@0x40", Kind: "object", Type: "_GeneratorContextManager", Within: []string{"lock@0x7f00"},
			Suspended: &Frame{Function: "locked", Qualname: "locked", File: hostile, Line: 7, Refs: map[string]string{"l": "lock@0x7f00"}}},
	}
}

// objectJSONAgrees holds AppendObjectJSON to encoding/json: the same bytes,
// or a failure where encoding/json fails.
func objectJSONAgrees(t *testing.T, ob *Object) {
	t.Helper()
	want, werr := json.Marshal(ob)
	got, gerr := AppendObjectJSON(nil, ob)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("encoding/json says %v, AppendObjectJSON %v", werr, gerr)
	}
	if werr == nil && !bytes.Equal(got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestObjectJSONAsEncodingJSON(t *testing.T) {
	for _, ob := range sampleObjects() {
		objectJSONAgrees(t, &ob)
	}
	nan := math.NaN()
	objectJSONAgrees(t, &Object{ID: "socket@0x1", Timeout: &nan})
}

func FuzzObjectJSON(f *testing.F) {
	f.Add("lock@0x7f00", "lock", "k", "v", uint64(0x7f00), 1, 0.5)
	f.Add(hostile, hostile, hostile, hostile, uint64(0), -1, math.Inf(1))
	f.Fuzz(func(t *testing.T, id, kind, k, v string, addr uint64, n int, timeout float64) {
		locked := n%2 == 0
		ob := Object{ID: id, Kind: kind, Type: v, Addr: Addr(addr), Locked: &locked, Owner: addr / 3, Count: n, Shared: n%3 == 0,
			WaitKey: Addr(addr / 2), Attrs: map[string]string{k: v, v: id}, Len: &n, NativeID: n, Ident: addr,
			Value: v, Timeout: &timeout, FD: &n, Unfinished: &n, Names: []string{k, v}, Global: k,
			Children: []string{id}, Module: v, Queued: []string{v, k}}
		objectJSONAgrees(t, &ob)
	})
}

// TestObjectJSONCoversEveryField sets every field of an Object, whatever
// fields it has by now, so that a field added to Object and not to
// AppendObjectJSON fails.
func TestObjectJSONCoversEveryField(t *testing.T) {
	var ob Object
	v := reflect.ValueOf(&ob).Elem()
	for i := 0; i < v.NumField(); i++ {
		fv, name := v.Field(i), v.Type().Field(i).Name
		switch fv.Kind() {
		case reflect.String:
			fv.SetString(hostile + name)
		case reflect.Int:
			fv.SetInt(int64(i + 1))
		case reflect.Uint64:
			fv.SetUint(uint64(0x1000 + i))
		case reflect.Bool:
			fv.SetBool(true)
		case reflect.Map:
			fv.Set(reflect.ValueOf(map[string]string{"k" + name: "v"}))
		case reflect.Slice:
			if fv.Type().Elem().Kind() != reflect.String {
				t.Fatalf("Object.%s: a slice of %s; teach this test and AppendObjectJSON about it", name, fv.Type().Elem().Kind())
			}
			fv.Set(reflect.ValueOf([]string{"w" + name}))
		case reflect.Pointer:
			p := reflect.New(fv.Type().Elem())
			switch e := p.Elem(); e.Kind() {
			case reflect.Bool:
				e.SetBool(true)
			case reflect.Int:
				e.SetInt(int64(i))
			case reflect.Float64:
				e.SetFloat(1.5)
			case reflect.Struct:
				// Encoded through encoding/json itself: its zero value is
				// enough to see that the member is there.
			default:
				t.Fatalf("Object.%s: a pointer to %s; teach this test and AppendObjectJSON about it", name, e.Kind())
			}
			fv.Set(p)
		default:
			t.Fatalf("Object.%s: a %s field; teach this test and AppendObjectJSON about it", name, fv.Kind())
		}
	}
	objectJSONAgrees(t, &ob)
}
