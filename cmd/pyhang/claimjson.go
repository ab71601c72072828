package main

import (
	"strconv"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// After the frames and the objects, what threads wait on and hold are most
// of a report: in a hung process of a hundred threads each may hold nine
// locks, each hold with its evidence. Through encoding/json's reflection they
// took a few milliseconds once the analysis was done, when nothing else is
// left to do; appendClaims writes them byte for byte as encoding/json does
// (claimjson_test.go holds it to that).

// claimsKey is how encoding/json writes a thread's waiting_on and holds left
// nil (writeReport).
var claimsKey = []byte(`"waiting_on":null,"holds":null`)

// appendClaims appends a thread's "waiting_on" and "holds" members.
func appendClaims(b []byte, w *reportWait, holds []reportHold) []byte {
	b = append(b, `"waiting_on":`...)
	b = appendWait(b, w)
	b = append(b, `,"holds":`...)
	return snapshot.AppendJSONList(b, holds, appendHold)
}

func appendWait(b []byte, w *reportWait) []byte {
	if w == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	if wt := w.Wait; wt != nil { // an embedded nil pointer has no members
		b = appendRef(b, &wt.Ref)
		b = appendEvidences(b, wt.Evidence)
		b = append(b, `,"frame":`...)
		b = strconv.AppendInt(b, int64(wt.Frame), 10)
		b = appendString(b, `,"call":`, wt.Call)
		b = appendInts(b, `,"on":`, wt.On)
		b = appendInts(b, `,"probably_held_by":`, wt.Probable)
		if len(wt.OnTasks) > 0 {
			b = append(b, `,"on_tasks":[`...)
			for i, id := range wt.OnTasks {
				if i > 0 {
					b = append(b, ',')
				}
				b = snapshot.AppendJSONString(b, id)
			}
			b = append(b, ']')
		}
		if wt.AnotherProcess {
			b = append(b, `,"another_process":true`...)
		}
		b = append(b, ',')
	}
	b = append(b, `"evidence":`...)
	b = snapshot.AppendJSONString(b, w.Words)
	return append(b, '}')
}

func appendHold(b []byte, h *reportHold) []byte {
	b = append(b, '{')
	b = appendRef(b, &h.Ref)
	b = appendEvidences(b, h.Evidence)
	b = append(b, `,"frame":`...)
	b = strconv.AppendInt(b, int64(h.Frame), 10)
	if h.Probable {
		b = append(b, `,"probable":true`...)
	}
	b = append(b, `,"evidence":`...)
	b = snapshot.AppendJSONString(b, h.Words)
	return append(b, '}')
}

// appendRef appends a Ref's members, with no comma before them.
func appendRef(b []byte, r *locks.Ref) []byte {
	b = append(b, `"kind":`...)
	b = snapshot.AppendJSONString(b, r.Kind)
	b = append(b, `,"id":`...)
	b = snapshot.AppendJSONString(b, r.ID)
	b = append(b, `,"name":`...)
	if r.Name == nil {
		return append(b, "null"...)
	}
	return snapshot.AppendJSONString(b, *r.Name)
}

// appendEvidences appends the "basis" member of a wait or a hold.
func appendEvidences(b []byte, evs []locks.Evidence) []byte {
	b = append(b, `,"basis":`...)
	return snapshot.AppendJSONList(b, evs, appendEvidence)
}

func appendEvidence(b []byte, e *locks.Evidence) []byte {
	b = append(b, `{"basis":`...)
	b = snapshot.AppendJSONString(b, string(e.Basis))
	if e.Addr != 0 {
		b = append(b, `,"addr":"0x`...)
		b = strconv.AppendUint(b, uint64(e.Addr), 16)
		b = append(b, '"')
	}
	b = appendString(b, `,"type":`, e.Type)
	b = appendSite(b, `,"at":`, e.At)
	if e.Enclosing {
		b = append(b, `,"enclosing":true`...)
	}
	b = appendSite(b, `,"release":`, e.Release)
	b = appendInt(b, `,"line":`, e.Line)
	b = appendInt(b, `,"count":`, e.Count)
	b = appendString(b, `,"syscall":`, e.Syscall)
	if e.FD != nil {
		b = append(b, `,"fd":`...)
		b = strconv.AppendInt(b, int64(*e.FD), 10)
	}
	b = appendInt(b, `,"threads":`, e.Threads)
	b = appendString(b, `,"method":`, e.Method)
	b = appendString(b, `,"via":`, e.Via)
	b = appendInt(b, `,"tasks":`, e.Tasks)
	b = appendInt(b, `,"pid":`, e.PID)
	b = appendString(b, `,"ended_thread":`, e.Ended)
	b = appendString(b, `,"generator":`, e.Generator)
	b = appendString(b, `,"local":`, e.Local)
	b = appendInt(b, `,"refcount":`, e.Refcount)
	b = appendString(b, `,"loop":`, e.Loop)
	if e.Submitted {
		b = append(b, `,"submitted":true`...)
	}
	return append(b, '}')
}

// appendSite appends a site under key, nothing when s is nil.
func appendSite(b []byte, key string, s *locks.Site) []byte {
	if s == nil {
		return b
	}
	b = append(b, key...)
	b = append(b, `{"file":`...)
	b = snapshot.AppendJSONString(b, s.File)
	b = append(b, `,"line":`...)
	b = strconv.AppendInt(b, int64(s.Line), 10)
	b = appendString(b, `,"function":`, s.Function)
	b = appendString(b, `,"call":`, s.Call)
	b = appendString(b, `,"via":`, s.Via)
	return append(b, '}')
}

// appendString, appendInt and appendInts append an omitempty member: key
// and value, nothing when the value is empty.
func appendString(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, key...)
	return snapshot.AppendJSONString(b, v)
}

func appendInt(b []byte, key string, v int) []byte {
	if v == 0 {
		return b
	}
	b = append(b, key...)
	return strconv.AppendInt(b, int64(v), 10)
}

func appendInts(b []byte, key string, vs []int) []byte {
	if len(vs) == 0 {
		return b
	}
	b = append(b, key...)
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return append(b, ']')
}
