package snapshot

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Frames are most of a report: tens of thousands in a large process. Encoding
// them through encoding/json's reflection cost more than taking the snapshot,
// so AppendFramesJSON writes them directly, byte for byte as encoding/json
// writes them (HTML-safe escaping, the fields in order, omitempty, sorted map
// keys); framejson_test.go holds it to that.

// AppendFramesJSON appends frames as encoding/json encodes a []Frame.
func AppendFramesJSON(b []byte, frames []Frame) []byte {
	var safe knownSafe // the frames' strings are alive until this returns
	var seen knownPlaces
	return appendJSONList(b, frames, func(b []byte, f *Frame) []byte { return appendFrame(b, f, &safe, &seen) })
}

// knownPlaces holds the JSON of the members that say where a frame stands
// (function to source_indent), for places lately written: a deep stack, and
// a hundred threads in the same code, stand at a few dozen places. Writing
// them again (five numbers, four strings checked for escapes) was most of
// the time it takes to write a frame; copying them is a fraction of it.
type knownPlaces [64]struct {
	at   framePlace
	json []byte
}

// framePlace is what the members from "function" to "source_indent" are
// written from. Two places are equal when their fields are: strings are
// compared without reading their bytes when they share them, as a stack's
// frames do.
type framePlace struct {
	function, qualname, file, lineBasis, source string
	line, firstLine, sourceIndent               int
	endLine, column, endColumn                  int // -1 for a nil pointer
}

func placeOf(f *Frame) framePlace {
	return framePlace{function: f.Function, qualname: f.Qualname, file: f.File, lineBasis: f.LineBasis, source: f.Source,
		line: f.Line, firstLine: f.FirstLine, sourceIndent: f.SourceIndent,
		endLine: intOr(f.EndLine, -1), column: intOr(f.Column, -1), endColumn: intOr(f.EndColumn, -1)}
}

func intOr(p *int, none int) int {
	if p == nil || *p < 0 {
		return none
	}
	return *p
}

// knownSafe holds strings lately found to need no escaping, one of each
// length: the frames of a stack repeat the same few names, files, source
// lines and ids, and scanning each again, byte by byte, was a third of the
// time it takes to write them. Equal strings are escaped alike, and Go
// compares two strings that share their bytes without reading them.
type knownSafe [64]string

// str appends s as appendJSONString does.
func (k *knownSafe) str(b []byte, s string) []byte {
	slot := &k[len(s)%len(k)]
	if *slot != s {
		for i := 0; i < len(s); i++ {
			if !jsonSafe[s[i]] {
				return appendJSONString(b, s)
			}
		}
		*slot = s
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONList appends a list as encoding/json encodes a slice: null when
// nil, each element written by one.
func appendJSONList[T any](b []byte, list []T, one func([]byte, *T) []byte) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = one(b, &list[i])
	}
	return append(b, ']')
}

func appendFrame(b []byte, f *Frame, safe *knownSafe, seen *knownPlaces) []byte {
	if f.EndLine != nil && *f.EndLine < 0 || f.Column != nil && *f.Column < 0 || f.EndColumn != nil && *f.EndColumn < 0 {
		// A negative position would stand for nil in a place: never cached.
		return appendFrameMembers(appendFramePlace(b, f, safe), f, safe)
	}
	at := placeOf(f)
	slot := &seen[(uint(at.line)*31+uint(at.column))%uint(len(seen))]
	if slot.json != nil && slot.at == at {
		return appendFrameMembers(append(b, slot.json...), f, safe)
	}
	start := len(b)
	b = appendFramePlace(b, f, safe)
	slot.at, slot.json = at, append(slot.json[:0], b[start:]...)
	return appendFrameMembers(b, f, safe)
}

// appendFramePlace appends a frame's members from "{" to "source_indent".
func appendFramePlace(b []byte, f *Frame, safe *knownSafe) []byte {
	b = append(b, `{"function":`...)
	b = safe.str(b, f.Function)
	b = append(b, `,"qualname":`...)
	b = safe.str(b, f.Qualname)
	b = append(b, `,"file":`...)
	b = safe.str(b, f.File)
	b = append(b, `,"line":`...)
	b = strconv.AppendInt(b, int64(f.Line), 10)
	if f.LineBasis != "" {
		b = append(b, `,"line_basis":`...)
		b = safe.str(b, f.LineBasis)
	}
	b = appendIntPtr(b, `,"end_line":`, f.EndLine)
	b = appendIntPtr(b, `,"column":`, f.Column)
	b = appendIntPtr(b, `,"end_column":`, f.EndColumn)
	if f.FirstLine != 0 {
		b = append(b, `,"first_line":`...)
		b = strconv.AppendInt(b, int64(f.FirstLine), 10)
	}
	if f.Source != "" {
		b = append(b, `,"source":`...)
		b = safe.str(b, f.Source)
	}
	if f.SourceIndent != 0 {
		b = append(b, `,"source_indent":`...)
		b = strconv.AppendInt(b, int64(f.SourceIndent), 10)
	}
	return b
}

// appendFrameMembers appends a frame's members after "source_indent", and
// its "}".
func appendFrameMembers(b []byte, f *Frame, safe *knownSafe) []byte {
	if len(f.Locals) > 0 {
		b = append(b, `,"locals":`...)
		b = appendStringMap(b, f.Locals)
	}
	if len(f.LocalList) > 0 {
		// Only with --locals, and few: encoding/json's own bytes.
		b = append(b, `,"locals_list":`...)
		enc, _ := json.Marshal(f.LocalList)
		b = append(b, enc...)
	}
	if len(f.URLs) > 0 {
		b = append(b, `,"urls":`...)
		b = appendStringMap(b, f.URLs)
	}
	if len(f.Refs) > 0 {
		b = append(b, `,"refs":`...)
		b = appendStringMapSafe(b, f.Refs, safe)
	}
	if len(f.With) > 0 {
		b = append(b, `,"with":`...)
		b = appendStringsSafe(b, f.With, safe)
	}
	if c := f.Calling; c != nil {
		b = append(b, `,"calling":{"object":`...)
		b = safe.str(b, c.Object)
		b = append(b, `,"method":`...)
		b = safe.str(b, c.Method)
		b = append(b, `,"via":`...)
		b = safe.str(b, c.Via)
		b = append(b, '}')
	}
	if f.Module != "" {
		b = append(b, `,"module":`...)
		b = safe.str(b, f.Module)
	}
	if f.Addr != 0 {
		b = append(b, `,"addr":`...)
		b = appendAddr(b, f.Addr)
	}
	if f.Native != nil {
		b = append(b, `,"native_frame":`...)
		b = strconv.AppendInt(b, int64(*f.Native), 10)
	}
	if h := f.SignalHandler; h != nil {
		b = append(b, `,"signal_handler":{"number":`...)
		b = strconv.AppendInt(b, int64(h.Number), 10)
		b = append(b, `,"name":`...)
		b = appendJSONString(b, h.Name)
		b = append(b, '}')
	}
	return append(b, '}')
}

// AppendNativeFramesJSON appends native frames as encoding/json encodes a
// []NativeFrame: a --native report has several for each Python frame.
func AppendNativeFramesJSON(b []byte, frames []NativeFrame) []byte {
	return appendJSONList(b, frames, appendNativeFrame)
}

func appendNativeFrame(b []byte, f *NativeFrame) []byte {
	b = append(b, `{"pc":`...)
	b = appendAddr(b, f.PC)
	if f.Symbol != "" {
		b = append(b, `,"symbol":`...)
		b = appendJSONString(b, f.Symbol)
	}
	b = append(b, `,"offset":`...)
	b = strconv.AppendUint(b, f.Offset, 10)
	if f.Module != "" {
		b = append(b, `,"module":`...)
		b = appendJSONString(b, f.Module)
	}
	if f.File != "" {
		b = append(b, `,"file":`...)
		b = appendJSONString(b, f.File)
	}
	if f.Line != 0 {
		b = append(b, `,"line":`...)
		b = strconv.AppendInt(b, int64(f.Line), 10)
	}
	if f.SignalFrame {
		b = append(b, `,"signal_frame":true`...)
	}
	if c := f.Interrupted; c != nil {
		b = append(b, `,"interrupted":{"pc":`...)
		b = appendAddr(b, c.PC)
		b = append(b, `,"sp":`...)
		b = appendAddr(b, c.SP)
		b = append(b, `,"trap":`...)
		b = strconv.AppendInt(b, int64(c.Trap), 10)
		b = append(b, `,"error_code":`...)
		b = strconv.AppendUint(b, c.ErrorCode, 10)
		b = append(b, `,"fault_addr":`...)
		b = appendAddr(b, c.FaultAddr)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendIntPtr(b []byte, key string, v *int) []byte {
	if v == nil {
		return b
	}
	b = append(b, key...)
	return strconv.AppendInt(b, int64(*v), 10)
}

// appendStringMap writes a map[string]string with its keys sorted.
func appendStringMap(b []byte, m map[string]string) []byte {
	return appendStringMapSafe(b, m, nil)
}

// appendStringMapSafe is appendStringMap through safe, when not nil.
func appendStringMapSafe(b []byte, m map[string]string, safe *knownSafe) []byte {
	var small [8]string // a frame's refs are one or two: no allocation
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendMaybeSafe(b, k, safe)
		b = append(b, ':')
		b = appendMaybeSafe(b, m[k], safe)
	}
	return append(b, '}')
}

func appendMaybeSafe(b []byte, s string, safe *knownSafe) []byte {
	if safe == nil {
		return appendJSONString(b, s)
	}
	return safe.str(b, s)
}

func appendAddr(b []byte, a Addr) []byte {
	b = append(b, '"', '0', 'x')
	b = strconv.AppendUint(b, uint64(a), 16)
	return append(b, '"')
}

func appendStrings(b []byte, ss []string) []byte {
	return appendStringsSafe(b, ss, nil)
}

// appendStringsSafe is appendStrings through safe, when not nil.
func appendStringsSafe(b []byte, ss []string, safe *knownSafe) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendMaybeSafe(b, s, safe)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// jsonSafe holds the ASCII bytes a JSON string carries as they are.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString quotes s as encoding/json does with HTML escaping on:
// control characters, <, > and &, U+2028 and U+2029 as \u escapes, invalid
// UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendJSONList appends a list as encoding/json encodes a slice, each
// element written by one: for the parts of a report written directly.
func AppendJSONList[T any](b []byte, list []T, one func([]byte, *T) []byte) []byte {
	return appendJSONList(b, list, one)
}

// AppendJSONString appends s quoted as encoding/json quotes it, HTML-safe:
// for the parts of a report written directly, beside the frames.
func AppendJSONString(b []byte, s string) []byte {
	return appendJSONString(b, s)
}
