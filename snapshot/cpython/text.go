package cpython

// Str returns the value of a str object, cut to max characters (with "…"
// appended when cut), and false for anything that is not a str.
func (p *Process) Str(v uint64, max int) (string, bool) {
	if n, err := p.typeName(v); err != nil || n != "str" {
		return "", false
	}
	s, err := p.str(v, max)
	return s, err == nil
}
