package cpython

import (
	"path"
	"strings"
)

const (
	// maxPathLen bounds a path read from sys.argv or sys.path.
	maxPathLen = 4096
	// maxStartEntries bounds the sys.path entries looked at for StartDirs.
	maxStartEntries = 8
)

// StartDir is a directory a script started by a relative path may have been
// started from, and the sys.path entry it was worked out from.
type StartDir struct {
	Dir   string
	Index int // of the entry in sys.path
}

// StartDirs works out where a script was started from, which a core does
// not record: up to 3.8, `python dir/prog.py` names the script's code
// "dir/prog.py", relative to that directory. sys.argv[0] is the script as it
// was given, and Python puts at sys.path[0] its directory made absolute
// (with symbolic links resolved): when an entry ends with the directory part
// of sys.argv[0], what comes before is where the script may have been
// started.
//
// Each is only a candidate: the program may have changed sys.path (put its
// parent folder first, as many scripts do), so the entries are given in
// order, from the first few, and the caller checks the file each leads to.
// Entries that are not clean absolute paths are skipped: Python's own is a
// resolved path, and a "dir/.." was written by the program. The main
// interpreter's sys is read, never a subinterpreter's, whose sys.path is
// its own. Nil when sys.argv[0] is absolute or not a script (-c, -m).
func (p *Process) StartDirs() []StartDir {
	interp, err := p.MainInterpreter()
	if err != nil {
		return nil
	}
	sysdict, err := p.r.u64(interp + uint64(p.Layout.InterpSysdict))
	if err != nil {
		return nil
	}
	items := func(name string, max int) []string {
		list, ok := p.dictGet(sysdict, name)
		if !ok {
			return nil
		}
		var out []string
		for _, it := range p.Items(list, max) {
			s, n, err := p.strTotal(it, maxPathLen)
			if err != nil || n > maxPathLen {
				s = "" // unreadable or cut: no candidate, but the index stays
			}
			out = append(out, s)
		}
		return out
	}
	argv := items("argv", 1)
	if len(argv) == 0 {
		return nil
	}
	script := argv[0]
	if script == "" || strings.HasPrefix(script, "-") || path.IsAbs(script) {
		return nil
	}
	script = path.Clean(script)
	var out []StartDir
	for i, entry := range items("path", maxStartEntries) {
		if !path.IsAbs(entry) || path.Clean(entry) != entry {
			continue
		}
		if dir, ok := startDirOf(script, entry); ok {
			out = append(out, StartDir{Dir: dir, Index: i})
		}
	}
	return out
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
