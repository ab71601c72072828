package snapshot

import (
	"math"
	"slices"
	"strconv"
)

// AppendObjectsJSON appends objects as encoding/json encodes the map (keys
// sorted), byte for byte; a report of a large process holds thousands. ok is
// false, and nothing is appended, for a value encoding/json refuses (a
// timeout that is not a finite number).
func AppendObjectsJSON(b []byte, objects map[string]*Object) (out []byte, ok bool) {
	if objects == nil {
		return append(b, "null"...), true
	}
	ids := make([]string, 0, len(objects))
	for id, ob := range objects {
		if ob != nil && ob.Timeout != nil && (math.IsNaN(*ob.Timeout) || math.IsInf(*ob.Timeout, 0)) {
			return b, false
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b = append(b, '{')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, id)
		b = append(b, ':')
		b = appendObject(b, objects[id])
	}
	return append(b, '}'), true
}

func appendObject(b []byte, o *Object) []byte {
	if o == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"id":`...)
	b = appendJSONString(b, o.ID)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, o.Kind)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, o.Type)
	b = append(b, `,"addr":`...)
	b = appendAddr(b, o.Addr)
	if o.Locked != nil {
		b = append(b, `,"locked":`...)
		b = strconv.AppendBool(b, *o.Locked)
	}
	if o.Owner != 0 {
		b = append(b, `,"owner":`...)
		b = strconv.AppendUint(b, o.Owner, 10)
	}
	if o.Count != 0 {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(o.Count), 10)
	}
	if o.WaitKey != 0 {
		b = append(b, `,"wait_key":`...)
		b = appendAddr(b, o.WaitKey)
	}
	if len(o.Attrs) > 0 {
		b = append(b, `,"attrs":`...)
		b = appendStringMap(b, o.Attrs)
	}
	if o.Len != nil {
		b = append(b, `,"len":`...)
		b = strconv.AppendInt(b, int64(*o.Len), 10)
	}
	if o.Ident != 0 {
		b = append(b, `,"ident":`...)
		b = strconv.AppendUint(b, o.Ident, 10)
	}
	if o.Value != "" {
		b = append(b, `,"value":`...)
		b = appendJSONString(b, o.Value)
	}
	if o.Timeout != nil {
		b = append(b, `,"timeout":`...)
		b = appendJSONFloat(b, *o.Timeout)
	}
	if o.FD != nil {
		b = append(b, `,"fd":`...)
		b = strconv.AppendInt(b, int64(*o.FD), 10)
	}
	if si := o.Socket; si != nil {
		b = append(b, `,"socket":{"inode":`...)
		b = strconv.AppendUint(b, si.Inode, 10)
		for _, kv := range [...][2]string{{"proto", si.Proto}, {"local", si.Local}, {"peer", si.Peer}, {"state", si.State}} {
			if kv[1] != "" {
				b = append(b, ',', '"')
				b = append(b, kv[0]...)
				b = append(b, '"', ':')
				b = appendJSONString(b, kv[1])
			}
		}
		b = append(b, '}')
	}
	if o.Unfinished != nil {
		b = append(b, `,"unfinished_tasks":`...)
		b = strconv.AppendInt(b, int64(*o.Unfinished), 10)
	}
	if len(o.Names) > 0 {
		b = append(b, `,"names":`...)
		b = appendStrings(b, o.Names)
	}
	if o.Global != "" {
		b = append(b, `,"global":`...)
		b = appendJSONString(b, o.Global)
	}
	if len(o.Children) > 0 {
		b = append(b, `,"children":`...)
		b = appendStrings(b, o.Children)
	}
	return append(b, '}')
}

func appendAddr(b []byte, a Addr) []byte {
	b = append(b, '"', '0', 'x')
	b = strconv.AppendUint(b, uint64(a), 16)
	return append(b, '"')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONFloat writes a finite float64 as encoding/json does: the
// shortest form, in exponent form below 1e-6 and from 1e21 on, with the
// exponent's leading zero dropped.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
