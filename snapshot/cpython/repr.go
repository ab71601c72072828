package cpython

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Repr bounds: a local's repr is a hint for a person, not a serialisation.
const (
	reprMaxStr   = 80
	reprMaxItems = 5
	reprMaxDepth = 2
	reprMaxLen   = 200
)

// reprNotRead stands for the repr of a value left unread when the snapshot's
// budget was spent.
const reprNotRead = "<not read: the snapshot's budget is spent>"

// Repr returns a short, bounded repr of the object at v, in the spirit of
// Python's repr; anything pyhang does not decode is <Type object at 0x…>.
func (p *Process) Repr(v uint64) string {
	if p.r.budget.spent {
		return reprNotRead
	}
	s := p.repr(v, 0)
	if len(s) > reprMaxLen {
		s = s[:reprMaxLen] + "…"
	}
	return s
}

func (p *Process) repr(v uint64, depth int) string {
	s := p.reprOf(v, depth)
	p.r.spend(2 * len(s)) // the string and the parts it was built from
	return s
}

func (p *Process) reprOf(v uint64, depth int) string {
	if v == 0 {
		return "<NULL>"
	}
	tn, err := p.typeName(v)
	if err != nil {
		return fmt.Sprintf("<unreadable object at %#x>", v)
	}
	other := func() string { return fmt.Sprintf("<%s object at %#x>", tn, v) }
	switch tn {
	case "NoneType":
		return "None"
	case "bool":
		n, err := p.intObj(v)
		if err != nil {
			return other()
		}
		if n.Sign() != 0 {
			return "True"
		}
		return "False"
	case "int":
		n, err := p.intObj(v)
		if err != nil {
			return other()
		}
		return n.String()
	case "float":
		f, err := p.r.f64(v + floatValue)
		if err != nil {
			return other()
		}
		return formatFloat(f)
	case "str":
		s, err := p.str(v, reprMaxStr)
		if err != nil {
			return other()
		}
		return strRepr(s)
	case "bytes":
		b, cut, err := p.bytesObj(v, reprMaxStr)
		if err != nil {
			return other()
		}
		s := bytesRepr(b)
		if cut {
			s = s[:len(s)-1] + "…" + s[len(s)-1:]
		}
		return s
	case "tuple", "list":
		var items []uint64
		var n int64
		if tn == "tuple" {
			if items, err = p.tupleItems(v, reprMaxItems); err == nil {
				n, err = p.r.i64(v + obSize)
			}
		} else {
			items, n, err = p.listItems(v, reprMaxItems)
		}
		if err != nil {
			return other()
		}
		open, close := "[", "]"
		if tn == "tuple" {
			open, close = "(", ")"
		}
		return open + p.seqRepr(items, n, depth) + trailingComma(tn, n) + close
	case "dict":
		items, err := p.dictItems(v, reprMaxItems)
		if err != nil {
			return other()
		}
		used, _ := p.r.i64(v + dictUsed)
		parts := make([]string, 0, len(items))
		for _, it := range items {
			if depth >= reprMaxDepth {
				break
			}
			parts = append(parts, p.repr(it.Key, depth+1)+": "+p.repr(it.Value, depth+1))
		}
		if int64(len(parts)) < used {
			parts = append(parts, fmt.Sprintf("…(%d items)", used))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case "_thread.lock", "_thread.RLock":
		if o := p.lockState(v, tn); o != nil {
			state := "unlocked"
			if o.locked {
				state = "locked"
			}
			return fmt.Sprintf("<%s %s object at %#x>", state, tn, v)
		}
	}
	return other()
}

func (p *Process) seqRepr(items []uint64, n int64, depth int) string {
	parts := make([]string, 0, len(items)+1)
	for _, it := range items {
		if depth >= reprMaxDepth {
			break
		}
		parts = append(parts, p.repr(it, depth+1))
	}
	if int64(len(parts)) < n {
		parts = append(parts, fmt.Sprintf("…(%d items)", n))
	}
	return strings.Join(parts, ", ")
}

func trailingComma(tn string, n int64) string {
	if tn == "tuple" && n == 1 {
		return ","
	}
	return ""
}

func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEnI") {
		s += ".0"
	}
	return s
}

// bytesRepr renders b as Python does: b'…' with \xNN escapes.
func bytesRepr(b []byte) string {
	q := byte('\'')
	if bytes.IndexByte(b, '\'') >= 0 && bytes.IndexByte(b, '"') < 0 {
		q = '"'
	}
	var sb strings.Builder
	sb.WriteByte('b')
	sb.WriteByte(q)
	for _, c := range b {
		switch {
		case c == '\\' || c == q:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\t':
			sb.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, c)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte(q)
	return sb.String()
}

// strRepr renders s as Python's repr does: single quotes unless the text has
// a single quote and no double one, and Python's escapes.
func strRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var sb strings.Builder
	sb.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\' || r == rune(q):
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, r)
		case r < 0x7f || unicode.IsPrint(r):
			sb.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&sb, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			fmt.Fprintf(&sb, `\U%08x`, r)
		}
	}
	sb.WriteByte(q)
	return sb.String()
}
