package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/pyhang/pyhang/locks"
)

// claimsAgree holds appendClaims to encoding/json.
func claimsAgree(t *testing.T, w *reportWait, holds []reportHold) {
	t.Helper()
	want, err := json.Marshal(struct {
		W *reportWait  `json:"waiting_on"`
		H []reportHold `json:"holds"`
	}{w, holds})
	if err != nil {
		t.Fatal(err)
	}
	got := append(appendClaims([]byte{'{'}, w, holds), '}')
	if !bytes.Equal(got, want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

const trickyText = `"waiting_on":null,"holds":null <&> ` + "\u2028\xff\x1b[2J"

// fill sets every exported field of the value v points into, whatever
// fields its type has by now: strings to text naming the field, numbers to
// non-zero values, pointers and slices to filled values. A field added to a
// claim's types and not to appendClaims then fails the tests below.
func fill(v reflect.Value, text string, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Int:
		v.SetInt(int64(*n))
	case reflect.Uint64:
		v.SetUint(uint64(0x7f00 + *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), text, n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), text, n)
		fill(v.Index(1), text+"1", n)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), text+v.Type().Field(i).Name, n)
			}
		}
	default:
		panic("fill: no value for a field of kind " + v.Kind().String())
	}
}

func TestClaimsJSONCoversEveryField(t *testing.T) {
	var w reportWait
	var holds []reportHold
	n := 0
	fill(reflect.ValueOf(&w).Elem(), trickyText, &n)
	fill(reflect.ValueOf(&holds).Elem(), trickyText, &n)
	claimsAgree(t, &w, holds)
}

func TestClaimsJSONAsEncodingJSON(t *testing.T) {
	name, fd := "ledger", 0
	site := &locks.Site{File: "/app/a.py", Line: 7}
	claimsAgree(t, nil, nil)
	claimsAgree(t, nil, []reportHold{})
	claimsAgree(t, &reportWait{Words: "no wait behind it"}, nil)
	claimsAgree(t, &reportWait{Wait: &locks.Wait{Ref: locks.Ref{Kind: "gil", ID: "gil"}}, Words: ""},
		[]reportHold{{Hold: locks.Hold{Ref: locks.Ref{Kind: "lock", ID: "lock@0x10", Name: &name}, Evidence: []locks.Evidence{}, Frame: -1}}})
	claimsAgree(t, &reportWait{Wait: &locks.Wait{Ref: locks.Ref{Kind: "socket", ID: "socket@0x1"},
		Evidence: []locks.Evidence{{Basis: locks.BasisSocket, Syscall: "recvfrom", FD: &fd}, {Basis: locks.BasisWith, At: site, Enclosing: false, Release: site}},
		On:       []int{}, Probable: []int{-1}, OnTasks: []string{}}, Words: trickyText},
		[]reportHold{{Hold: locks.Hold{Ref: locks.Ref{Kind: trickyText, ID: trickyText, Name: &name}, Probable: true,
			Evidence: []locks.Evidence{{Basis: locks.BasisBareAcquire, At: &locks.Site{File: trickyText, Line: -3, Function: trickyText}, Line: 9}}}, Words: trickyText}})
}
