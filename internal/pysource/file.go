package pysource

import (
	"slices"
	"sort"
)

// File is a tokenized source file with its block structure.
type File struct {
	Lines []Line
	// byPhys maps a physical line to the index of the logical line that
	// covers it, -1 for blank and comment-only lines.
	byPhys []int
	ends   []int // blockEnd of each logical line
	defs   []def
}

// def is one def or class statement and the extent of its body.
type def struct {
	line, end int    // header's first physical line, body's last one
	qualname  string // as co_qualname spells it: "C.m", "f.<locals>.g"
	class     bool
}

// Parse tokenizes src and works out its blocks.
func Parse(src string) *File {
	f := &File{Lines: Tokenize(src)}
	last := 0
	if n := len(f.Lines); n > 0 {
		last = f.Lines[n-1].End
	}
	f.byPhys = make([]int, last+2)
	for i := range f.byPhys {
		f.byPhys[i] = -1
	}
	for i, l := range f.Lines {
		for p := l.Start; p <= l.End && p < len(f.byPhys); p++ {
			f.byPhys[p] = i
		}
	}
	f.findEnds()
	f.findDefs()
	return f
}

// findEnds works out, in one pass with a stack of open blocks, the last
// physical line of the block each logical line opens: the lines after it
// that are indented deeper (the line itself for a simple statement or a
// one-line compound one).
func (f *File) findEnds() {
	f.ends = make([]int, len(f.Lines))
	var open []int
	prevEnd := 0
	for i, l := range f.Lines {
		for len(open) > 0 && f.Lines[open[len(open)-1]].Indent >= l.Indent {
			f.ends[open[len(open)-1]] = prevEnd
			open = open[:len(open)-1]
		}
		open = append(open, i)
		prevEnd = l.End
	}
	for _, o := range open {
		f.ends[o] = prevEnd
	}
}

// At returns the logical line covering physical line n, or nil.
func (f *File) At(n int) *Line {
	if n < 1 || n >= len(f.byPhys) || f.byPhys[n] < 0 {
		return nil
	}
	return &f.Lines[f.byPhys[n]]
}

// blockEnd is the last physical line of the block that logical line i opens.
func (f *File) blockEnd(i int) int { return f.ends[i] }

// keyword returns the statement's leading keyword, skipping "async".
func keyword(l *Line) (string, int) {
	for i, t := range l.Tokens {
		if t.Kind != Name {
			return "", i
		}
		if t.Text != "async" {
			return t.Text, i
		}
	}
	return "", len(l.Tokens)
}

func (f *File) findDefs() {
	type open struct {
		indent   int
		end      int
		qualname string
		class    bool
	}
	var stack []open
	for i := range f.Lines {
		l := &f.Lines[i]
		for len(stack) > 0 && l.Start > stack[len(stack)-1].end {
			stack = stack[:len(stack)-1]
		}
		kw, at := keyword(l)
		if kw != "def" && kw != "class" || at+1 >= len(l.Tokens) || l.Tokens[at+1].Kind != Name {
			continue
		}
		name := l.Tokens[at+1].Text
		if len(stack) > 0 {
			parent := stack[len(stack)-1]
			if parent.class {
				name = parent.qualname + "." + name
			} else {
				name = parent.qualname + ".<locals>." + name
			}
		}
		d := def{line: l.Start, end: f.blockEnd(i), qualname: name, class: kw == "class"}
		f.defs = append(f.defs, d)
		stack = append(stack, open{indent: l.Indent, end: d.end, qualname: name, class: d.class})
	}
}

// Function returns the def that contains physical line n: the line of its
// header and its qualified name. Code at module level is "<module>" at line
// 0; a class body counts as the class.
func (f *File) Function(n int) (line int, qualname string) {
	best := -1
	for i, d := range f.defs {
		if d.line <= n && n <= d.end && (best < 0 || d.line >= f.defs[best].line) {
			best = i
		}
	}
	if best < 0 {
		return 0, "<module>"
	}
	return f.defs[best].line, f.defs[best].qualname
}

// Call is a method call on a dotted name: `self.lock.acquire(` has Receiver
// "self.lock", Last "lock" and Method "acquire".
type Call struct {
	Line     int // physical line of the method name
	Receiver string
	Last     string
	Method   string
	// With is true when the call is part of a with statement's header
	// (`with lock.acquire_timeout():`), not a statement of its own.
	With bool
	// Lambda is true when a lambda comes before the call in its logical
	// line: the call is most likely the lambda's (a callback's
	// `lambda f: sem.release()`), made whenever the lambda is called, not
	// where the line stands.
	Lambda bool
	// Args are the call's arguments, each as its text when it is a dotted
	// name ("on_alarm", "self.on_term"), "lambda" when it is a lambda, ""
	// otherwise: what a callback passed to the call is.
	Args []string
}

// Calls lists every call of one of the methods on a dotted name, in order.
func (f *File) Calls(methods ...string) []Call {
	want := map[string]bool{}
	for _, m := range methods {
		want[m] = true
	}
	var out []Call
	for i := range f.Lines {
		l := &f.Lines[i]
		kw, _ := keyword(l)
		tk := l.Tokens
		for j := 2; j+1 < len(tk); j++ {
			if tk[j].Kind != Name || !want[tk[j].Text] || tk[j-1].Text != "." || tk[j+1].Text != "(" || tk[j-2].Kind != Name {
				continue
			}
			// Walk back over name(.name)* to get the whole receiver.
			k := j - 2
			for k >= 2 && tk[k-1].Text == "." && tk[k-2].Kind == Name {
				k -= 2
			}
			recv := ""
			for m := k; m < j-1; m++ {
				recv += tk[m].Text
			}
			lambda := slices.ContainsFunc(tk[:k], func(t Token) bool { return t.Kind == Name && t.Text == "lambda" })
			out = append(out, Call{Line: tk[j].Line, Receiver: recv, Last: tk[j-2].Text, Method: tk[j].Text, With: kw == "with", Lambda: lambda,
				Args: callArgs(tk[j+2:])})
		}
	}
	return out
}

// enclosing calls visit with each logical line whose header or block holds
// physical line n, innermost first (n's own line, then each statement it is
// nested in), up to n's def or class, until visit returns false.
func (f *File) enclosing(n int, visit func(l *Line, kw string) bool) {
	cur := f.At(n)
	if cur == nil {
		return
	}
	idx := f.byPhys[n]
	indent := cur.Indent
	for i := idx; i >= 0; i-- {
		l := &f.Lines[i]
		if i != idx && l.Indent >= indent {
			continue
		}
		kw, _ := keyword(l)
		if (kw == "def" || kw == "class") && i != idx {
			return
		}
		if (i == idx || f.blockEnd(i) >= n) && !visit(l, kw) {
			return
		}
		if i != idx {
			indent = l.Indent
		}
	}
}

// EnclosingWith returns the first physical lines of the with statements
// whose block contains physical line n, innermost first, each with the names
// its header mentions.
func (f *File) EnclosingWith(n int) []With {
	var out []With
	f.enclosing(n, func(l *Line, kw string) bool {
		if kw == "with" {
			w := With{Line: l.Start}
			for _, t := range l.Tokens {
				if t.Kind == Name {
					w.Names = append(w.Names, t.Text)
				}
			}
			sort.Strings(w.Names)
			out = append(out, w)
		}
		return true
	})
	return out
}

// With is a with statement's header.
type With struct {
	Line  int
	Names []string // every name in the header, sorted
}

// Mentions reports whether the header names n.
func (w With) Mentions(n string) bool {
	i := sort.SearchStrings(w.Names, n)
	return i < len(w.Names) && w.Names[i] == n
}

// EnclosingWhile returns the first physical line of the innermost while
// statement whose header or block holds physical line n, within n's
// function, or 0 when there is none.
func (f *File) EnclosingWhile(n int) int {
	line := 0
	f.enclosing(n, func(l *Line, kw string) bool {
		if kw == "while" {
			line = l.Start
			return false
		}
		return true
	})
	return line
}

// InBlock reports whether physical line n stands in the block of a
// statement with one of the keywords ("try", "with"), within n's function.
func (f *File) InBlock(n int, keywords ...string) bool {
	in := false
	f.enclosing(n, func(l *Line, kw string) bool {
		for _, k := range keywords {
			if kw == k && f.At(n) != l {
				in = true
				return false
			}
		}
		return true
	})
	return in
}

// callArgs reads a call's arguments from the tokens after its "(": each a
// dotted name's text, "lambda", or "" for anything else, up to the
// matching ")".
func callArgs(tk []Token) []string {
	var out []string
	depth, start := 0, 0
	arg := func(end int) {
		a := tk[start:end]
		switch {
		case len(a) > 0 && a[0].Kind == Name && a[0].Text == "lambda":
			out = append(out, "lambda")
		case len(a) > 0 && len(a)%2 == 1 && dotted(a):
			text := ""
			for _, t := range a {
				text += t.Text
			}
			out = append(out, text)
		default:
			out = append(out, "")
		}
	}
	for i, t := range tk {
		switch t.Text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			if depth == 0 {
				if i > start {
					arg(i)
				}
				return out
			}
			depth--
		case ",":
			if depth == 0 {
				arg(i)
				start = i + 1
			}
		}
	}
	return out
}

// dotted tells tokens that spell name(.name)*.
func dotted(a []Token) bool {
	for i, t := range a {
		if i%2 == 0 && t.Kind != Name || i%2 == 1 && t.Text != "." {
			return false
		}
	}
	return true
}
