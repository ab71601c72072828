package snapshot

import (
	"encoding/json"
	"strconv"
)

// A report holds an object for each lock, queue, thread and socket a stack
// refers to: a thousand and more in a large process, where encoding/json's
// reflection took longer than the lock analysis it runs beside.
// AppendObjectJSON writes the fields every object has directly, byte for
// byte as encoding/json writes them; the rare nested parts (a socket, a
// barrier, a multiprocessing pool…) and the float timeout still go through
// encoding/json. objectjson_test.go holds it to that.

// AppendObjectJSON appends ob as encoding/json encodes an Object, and fails
// where encoding/json fails (a timeout that is not a finite number, read from
// a hostile target).
func AppendObjectJSON(b []byte, ob *Object) ([]byte, error) {
	var err error
	b = append(b, `{"id":`...)
	b = appendJSONString(b, ob.ID)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, ob.Kind)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, ob.Type)
	b = append(b, `,"addr":`...)
	b = appendAddr(b, ob.Addr)
	if ob.Locked != nil {
		b = append(b, `,"locked":`...)
		b = strconv.AppendBool(b, *ob.Locked)
	}
	if ob.Owner != 0 {
		b = append(b, `,"owner":`...)
		b = strconv.AppendUint(b, ob.Owner, 10)
	}
	if ob.Count != 0 {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(ob.Count), 10)
	}
	if ob.Shared {
		b = append(b, `,"shared":true`...)
	}
	if ob.SharedFile != "" {
		b = append(b, `,"shared_file":`...)
		b = appendJSONString(b, ob.SharedFile)
	}
	if ob.WaitKey != 0 {
		b = append(b, `,"wait_key":`...)
		b = appendAddr(b, ob.WaitKey)
	}
	if len(ob.Attrs) > 0 {
		b = append(b, `,"attrs":`...)
		b = appendStringMap(b, ob.Attrs)
	}
	if len(ob.Within) > 0 {
		b = append(b, `,"within":`...)
		b = appendStrings(b, ob.Within)
	}
	b = appendMarshalled(b, `,"suspended_frame":`, ob.Suspended, &err)
	b = appendIntPtr(b, `,"len":`, ob.Len)
	if ob.NativeID != 0 {
		b = append(b, `,"native_id":`...)
		b = strconv.AppendInt(b, int64(ob.NativeID), 10)
	}
	if ob.Ident != 0 {
		b = append(b, `,"ident":`...)
		b = strconv.AppendUint(b, ob.Ident, 10)
	}
	if ob.Value != "" {
		b = append(b, `,"value":`...)
		b = appendJSONString(b, ob.Value)
	}
	b = appendMarshalled(b, `,"timeout":`, ob.Timeout, &err)
	b = appendIntPtr(b, `,"fd":`, ob.FD)
	if ob.Family != "" {
		b = append(b, `,"family":`...)
		b = appendJSONString(b, ob.Family)
	}
	b = appendMarshalled(b, `,"socket":`, ob.Socket, &err)
	b = appendIntPtr(b, `,"unfinished_tasks":`, ob.Unfinished)
	b = appendIntPtr(b, `,"maxsize":`, ob.Maxsize)
	b = appendIntPtr(b, `,"initial_value":`, ob.Initial)
	if len(ob.Names) > 0 {
		b = append(b, `,"names":`...)
		b = appendStrings(b, ob.Names)
	}
	if ob.Global != "" {
		b = append(b, `,"global":`...)
		b = appendJSONString(b, ob.Global)
	}
	if ob.Source != "" {
		b = append(b, `,"source":`...)
		b = appendJSONString(b, ob.Source)
	}
	if ob.RunsOn != "" {
		b = append(b, `,"runs_on":`...)
		b = appendJSONString(b, ob.RunsOn)
	}
	if ob.Submitted {
		b = append(b, `,"submitted":true`...)
	}
	if len(ob.Children) > 0 {
		b = append(b, `,"children":`...)
		b = appendStrings(b, ob.Children)
	}
	if ob.Module != "" {
		b = append(b, `,"module":`...)
		b = appendJSONString(b, ob.Module)
	}
	b = appendMarshalled(b, `,"barrier":`, ob.Barrier, &err)
	b = appendMarshalled(b, `,"executor":`, ob.Executor, &err)
	if len(ob.Queued) > 0 {
		b = append(b, `,"queued":`...)
		b = appendStrings(b, ob.Queued)
	}
	b = appendMarshalled(b, `,"child":`, ob.Child, &err)
	b = appendMarshalled(b, `,"mp_pool":`, ob.MPPool, &err)
	b = appendMarshalled(b, `,"mp_result":`, ob.MPResult, &err)
	b = appendMarshalled(b, `,"mp_process":`, ob.MPProcess, &err)
	b = appendMarshalled(b, `,"mp_queue":`, ob.MPQueue, &err)
	b = appendMarshalled(b, `,"generator":`, ob.Generator, &err)
	return append(b, '}'), err
}

// appendMarshalled appends key and v as encoding/json writes v, unless v is
// nil (omitempty). The first failure is kept in *err.
func appendMarshalled[T any](b []byte, key string, v *T, err *error) []byte {
	if v == nil {
		return b
	}
	enc, e := json.Marshal(v)
	if e != nil {
		if *err == nil {
			*err = e
		}
		return b
	}
	return append(append(b, key...), enc...)
}
