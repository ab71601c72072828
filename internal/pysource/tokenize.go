// Package pysource reads Python source the way Python's own tokenizer does,
// as far as pyhang needs it: logical lines (joined over brackets and
// backslashes), their indentation, and their tokens, with strings and
// comments recognised as such. A '#' inside a string is not a comment, a
// bracket inside a string does not continue a line, and a triple-quoted
// string spans lines. It never fails: source that is not valid Python still
// yields lines and tokens, only less meaningful ones.
package pysource

// TokenKind classifies a token.
type TokenKind int

// Token kinds. Numbers and other literals come out as Op or Name runs; pyhang
// looks only at names, operators and the bounds of strings.
const (
	Name TokenKind = iota
	Op
	String
)

// Token is one token of a logical line.
type Token struct {
	Kind TokenKind
	Text string // for String: the whole literal, quotes and prefix included
	Line int    // 1-based physical line where it starts
}

// Line is one logical line: a statement header or a simple statement, which
// may span several physical lines.
type Line struct {
	Start, End int // 1-based physical lines, inclusive
	Indent     int // columns of leading white space (a tab counts to the next multiple of 8)
	Tokens     []Token
}

// maxTokens bounds the tokens kept per logical line; source files are read
// from the target's file system, so a crafted file must not cost unbounded
// memory.
const maxTokens = 4096

// Tokenize splits src into logical lines. Blank and comment-only lines are
// dropped.
func Tokenize(src string) []Line {
	t := tokenizer{src: src, line: 1}
	return t.run()
}

type tokenizer struct {
	src   string
	pos   int
	line  int
	out   []Line
	cur   *Line
	depth int // open brackets
}

func (t *tokenizer) run() []Line {
	atStart := true
	for t.pos < len(t.src) {
		if atStart && t.depth == 0 {
			t.indent()
			atStart = false
			continue
		}
		c := t.src[t.pos]
		switch {
		case c == '\n':
			t.pos++
			t.line++
			if t.depth == 0 {
				t.endLine()
				atStart = true
			}
		case c == '\r' || c == ' ' || c == '\t' || c == '\f':
			t.pos++
		case c == '#':
			for t.pos < len(t.src) && t.src[t.pos] != '\n' {
				t.pos++
			}
		case c == '\\' && t.pos+1 < len(t.src) && (t.src[t.pos+1] == '\n' || t.src[t.pos+1] == '\r'):
			// An explicit line joint: the logical line goes on.
			t.pos++
			if t.src[t.pos] == '\r' {
				t.pos++
			}
			if t.pos < len(t.src) && t.src[t.pos] == '\n' {
				t.pos++
			}
			t.line++
		case isIdentStart(c):
			start := t.pos
			for t.pos < len(t.src) && isIdent(t.src[t.pos]) {
				t.pos++
			}
			word := t.src[start:t.pos]
			if t.pos < len(t.src) && (t.src[t.pos] == '\'' || t.src[t.pos] == '"') && isStringPrefix(word) {
				t.pos = start
				t.string(len(word))
				continue
			}
			t.emit(Name, word, t.line)
		case c == '\'' || c == '"':
			t.string(0)
		default:
			t.op()
		}
	}
	t.endLine()
	return t.out
}

// indent measures the leading white space of a physical line that starts a
// logical one, and skips blank and comment-only lines.
func (t *tokenizer) indent() {
	col := 0
	for t.pos < len(t.src) {
		switch t.src[t.pos] {
		case ' ':
			col++
		case '\t':
			col = (col/8 + 1) * 8
		case '\f':
			col = 0
		default:
			t.cur = &Line{Start: t.line, End: t.line, Indent: col}
			return
		}
		t.pos++
	}
}

func (t *tokenizer) endLine() {
	if t.cur != nil && len(t.cur.Tokens) > 0 {
		t.out = append(t.out, *t.cur)
	}
	t.cur = nil
	t.depth = 0
}

func (t *tokenizer) emit(k TokenKind, text string, line int) {
	if t.cur == nil {
		t.cur = &Line{Start: line, End: line}
	}
	if len(t.cur.Tokens) < maxTokens {
		t.cur.Tokens = append(t.cur.Tokens, Token{Kind: k, Text: text, Line: line})
	}
	t.cur.End = t.line
}

// op reads an operator or any other character run that is not a name or a
// string (numbers come out here too). Brackets change the depth that decides
// whether a newline ends the logical line.
func (t *tokenizer) op() {
	c := t.src[t.pos]
	switch c {
	case '(', '[', '{':
		t.depth++
	case ')', ']', '}':
		if t.depth > 0 {
			t.depth--
		}
	}
	start := t.pos
	t.pos++
	if c >= '0' && c <= '9' || c == '.' && t.pos < len(t.src) && t.src[t.pos] >= '0' && t.src[t.pos] <= '9' {
		for t.pos < len(t.src) && (isIdent(t.src[t.pos]) || t.src[t.pos] == '.') {
			t.pos++
		}
	}
	t.emit(Op, t.src[start:t.pos], t.line)
}

// string reads a string literal whose prefix is plen bytes long. f-strings'
// replacement fields may hold other strings (with the same quotes since
// Python 3.12): they are skipped with the brackets counted.
func (t *tokenizer) string(plen int) {
	start, line := t.pos, t.line
	prefix := t.src[t.pos : t.pos+plen]
	fmtd := false
	for i := 0; i < len(prefix); i++ {
		if c := prefix[i] | 0x20; c == 'f' || c == 't' {
			fmtd = true
		}
	}
	t.pos += plen
	t.body(fmtd, 0)
	t.emit(String, t.src[start:t.pos], line)
}

// maxFStringNesting bounds recursion into f-string replacement fields.
const maxFStringNesting = 16

// body reads from the opening quote to the end of the literal. A backslash
// keeps the next character from ending it, in raw strings too (r"\"" is one
// string).
func (t *tokenizer) body(fmtd bool, nest int) {
	q := t.src[t.pos]
	triple := t.pos+2 < len(t.src) && t.src[t.pos+1] == q && t.src[t.pos+2] == q
	if triple {
		t.pos += 3
	} else {
		t.pos++
	}
	for t.pos < len(t.src) {
		c := t.src[t.pos]
		switch {
		case c == '\\':
			t.pos++
			if t.pos < len(t.src) {
				if t.src[t.pos] == '\n' {
					t.line++
				}
				t.pos++
			}
		case c == '\n':
			if !triple {
				return // an unterminated string ends at the line's end
			}
			t.line++
			t.pos++
		case c == q:
			if !triple {
				t.pos++
				return
			}
			if t.pos+2 < len(t.src) && t.src[t.pos+1] == q && t.src[t.pos+2] == q {
				t.pos += 3
				return
			}
			t.pos++
		case fmtd && c == '{':
			if t.pos+1 < len(t.src) && t.src[t.pos+1] == '{' {
				t.pos += 2
				continue
			}
			t.pos++
			t.field(nest)
		default:
			t.pos++
		}
	}
}

// field skips an f-string replacement field up to its closing brace.
func (t *tokenizer) field(nest int) {
	depth := 1
	for t.pos < len(t.src) && depth > 0 {
		c := t.src[t.pos]
		switch {
		case c == '{' || c == '(' || c == '[':
			depth++
			t.pos++
		case c == '}' || c == ')' || c == ']':
			depth--
			t.pos++
		case (c == '\'' || c == '"') && nest < maxFStringNesting:
			t.body(true, nest+1)
		case c == '\n':
			t.line++
			t.pos++
		default:
			t.pos++
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdent(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// isStringPrefix reports whether a name glued to a quote is a string prefix
// (r, b, u, f, t and their combinations, any case).
func isStringPrefix(w string) bool {
	if len(w) > 2 {
		return false
	}
	for i := 0; i < len(w); i++ {
		switch w[i] | 0x20 {
		case 'r', 'b', 'u', 'f', 't':
		default:
			return false
		}
	}
	return true
}
