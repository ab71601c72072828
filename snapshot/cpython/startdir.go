package cpython

import (
	"path"
	"strings"
)

// maxPathLen bounds a path read from sys.argv or sys.path.
const maxPathLen = 4096

// StartDir works out the directory a script was started from, which a core
// does not record: up to 3.8, `python dir/prog.py` names the script's code
// "dir/prog.py", relative to that directory. sys.argv[0] is the script as
// it was given, and sys.path[0] its directory made absolute (with symbolic
// links resolved): when the one ends with the directory part of the other,
// what comes before is where the script was started. ok is false when
// sys.argv[0] is absolute, is not a script (-c, -m), or does not match.
func (p *Process) StartDir() (dir string, ok bool) {
	interp, err := p.r.u64(p.Runtime + uint64(p.Layout.RuntimeInterpHead))
	if err != nil {
		return "", false
	}
	sysdict, err := p.r.u64(interp + uint64(p.Layout.InterpSysdict))
	if err != nil {
		return "", false
	}
	first := func(name string) string {
		list, ok := p.dictGet(sysdict, name)
		if !ok {
			return ""
		}
		items := p.Items(list, 1)
		if len(items) == 0 {
			return ""
		}
		s, err := p.str(items[0], maxPathLen)
		if err != nil {
			return ""
		}
		return s
	}
	script, path0 := first("argv"), first("path")
	if script == "" || strings.HasPrefix(script, "-") || path.IsAbs(script) || !path.IsAbs(path0) {
		return "", false
	}
	return startDirOf(path.Clean(script), path.Clean(path0))
}

// startDirOf is the directory a relative script path was given from, when
// path0 (its directory, absolute) ends with the script's own directory.
func startDirOf(script, path0 string) (string, bool) {
	sub := path.Dir(script)
	if sub == "." {
		return path0, true
	}
	if sub == ".." || strings.HasPrefix(sub, "../") {
		return "", false
	}
	start, found := strings.CutSuffix(path0, "/"+sub)
	if !found {
		return "", false
	}
	if start == "" {
		start = "/"
	}
	return start, true
}
