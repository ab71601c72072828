package locks

import (
	"sort"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// importOwners: an import lock (importlib._bootstrap._ModuleLock) names the
// thread importing its module in its owner field, and that thread holds it
// until the import ends. A thread that wants the module meanwhile waits in
// _ModuleLock.acquire on the lock's private `wakeup` lock, which it took
// itself: the resource it waits for is the module lock, held by its owner.
func (a *Analysis) importOwners(x *index) {
	ids := make([]string, 0, len(x.s.Objects))
	for id, ob := range x.s.Objects {
		if ob.Kind == snapshot.KindModuleLock && ob.Owner != 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		ob := x.s.Objects[id]
		th := x.byIdent[ob.Owner]
		if th == nil {
			continue
		}
		a.addHold(th.TID, Hold{Ref: ref(ob), Evidence: []Evidence{{Basis: BasisImportOwner, Count: ob.Count}}, Frame: importFrame(th, ob.Module)})
	}
}

// importFrame is the frame that runs the module's body (its `<module>`
// frame), else -1.
func importFrame(th *snapshot.Thread, module string) int {
	last := module[strings.LastIndexByte(module, '.')+1:]
	for i := range th.Frames {
		if th.Frames[i].Function == "<module>" && moduleOfFile(th.Frames[i].File) == last {
			return i
		}
	}
	return -1
}

// moduleOfFile is the last dotted component a file would be imported as:
// "pkg/mod.py" → "mod", "pkg/__init__.py" → "pkg".
func moduleOfFile(path string) string {
	base := path
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			base = path[i+1:]
			if base == "__init__.py" {
				dir := path[:i]
				for j := len(dir) - 1; j >= 0; j-- {
					if dir[j] == '/' {
						return dir[j+1:]
					}
				}
				return dir
			}
			break
		}
	}
	for i := len(base) - 1; i >= 0; i-- {
		if base[i] == '.' {
			return base[:i]
		}
	}
	return base
}

// pastImportMachinery moves a frame index out of importlib's own frames, to
// the frame whose import statement waits.
func pastImportMachinery(th *snapshot.Thread, i int) int {
	for j := i; j < len(th.Frames); j++ {
		if !strings.HasPrefix(th.Frames[j].File, "<frozen importlib.") {
			return j
		}
	}
	return i
}
