package pysource

// SleepLoop returns the first physical line of the endless loop that
// physical line n sleeps in, or 0: the innermost while statement around n
// is `while True:` (or `while 1:`), and its body does nothing but sleep:
// every statement is a call of a function named sleep or pause whose
// arguments call nothing, `pass`, `continue` or `...`. A thread at n then
// never runs any other code of its own: with no break, return or other
// statement in the loop, no test that may turn false, it sleeps until the
// process ends (a signal handler is all it may still run, on the main
// thread). Line n itself must be one of the sleeps.
func (f *File) SleepLoop(n int) int {
	cur := f.At(n)
	if cur == nil {
		return 0
	}
	head := f.EnclosingWhile(n)
	if head == 0 {
		return 0
	}
	idx := f.byPhys[head]
	h := &f.Lines[idx]
	tk := h.Tokens
	if len(tk) < 3 || tk[0].Text != "while" || !isTrue(tk[1].Text) || tk[2].Text != ":" {
		return 0
	}
	sleepsAtN := false
	// A one-line loop (`while True: time.sleep(1)`) has its body after the
	// colon, on the header's own logical line.
	if len(tk) > 3 {
		if !sleepOnly(tk[3:]) {
			return 0
		}
		sleepsAtN = cur == h
	}
	for i := idx + 1; i < len(f.Lines) && f.Lines[i].Start <= f.blockEnd(idx); i++ {
		l := &f.Lines[i]
		if !sleepOnly(l.Tokens) {
			return 0
		}
		if l == cur {
			sleepsAtN = sleeps(l.Tokens)
		}
	}
	if !sleepsAtN {
		return 0
	}
	return head
}

func isTrue(s string) bool { return s == "True" || s == "1" }

// sleepOnly reports whether a run of simple statements, separated by
// semicolons, does nothing but sleep (see SleepLoop).
func sleepOnly(tk []Token) bool {
	for len(tk) > 0 {
		end := 0
		for end < len(tk) && tk[end].Text != ";" {
			end++
		}
		st := tk[:end]
		switch {
		case len(st) == 0:
		case len(st) == 1 && (st[0].Text == "pass" || st[0].Text == "continue"):
		case len(st) == 3 && st[0].Text == "." && st[1].Text == "." && st[2].Text == ".":
		case sleepCall(st):
		default:
			return false
		}
		if end == len(tk) {
			break
		}
		tk = tk[end+1:]
	}
	return true
}

// sleeps reports whether the statements hold a sleep call.
func sleeps(tk []Token) bool {
	start := 0
	for i := 0; i <= len(tk); i++ {
		if i == len(tk) || tk[i].Text == ";" {
			if sleepCall(tk[start:i]) {
				return true
			}
			start = i + 1
		}
	}
	return false
}

// sleepCall reports whether a statement is `name(.name)*(args)` whose last
// name is sleep or pause, and whose arguments hold no call, no lambda and no
// await: evaluating them runs no code of the program's.
func sleepCall(st []Token) bool {
	k := 0
	for k+2 < len(st) && st[k].Kind == Name && st[k+1].Text == "." {
		k += 2
	}
	if k+2 >= len(st) || st[k].Kind != Name || (st[k].Text != "sleep" && st[k].Text != "pause") || st[k+1].Text != "(" || st[len(st)-1].Text != ")" {
		return false
	}
	for _, t := range st[k+2 : len(st)-1] {
		if t.Text == "(" || t.Text == ")" || t.Text == "lambda" || t.Text == "await" || t.Text == "[" || t.Text == "{" {
			return false
		}
	}
	return true
}
