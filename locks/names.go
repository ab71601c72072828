package locks

import (
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// BestName is the handle a person reading the code knows an object by: a
// module global ("ledger"), else a qualified attribute
// ("ReadersWriters.file_lock"), else a local or parameter name, else
// "self.attr". A parameter name is the last resort because a helper that
// takes `first` and `second` would otherwise rename the program's globals.
func BestName(ob *snapshot.Object) string {
	if ob.Global != "" {
		return ob.Global
	}
	best, score := "", -1
	for _, n := range ob.Names {
		if n == "self" || n == "cls" {
			continue // the object's own methods' name for it: no handle
		}
		sc := 1
		switch {
		case strings.HasPrefix(n, "self.") || strings.HasPrefix(n, "cls."):
			sc = 0
		case n != "" && n[0] >= 'A' && n[0] <= 'Z' && strings.Contains(n, "."):
			sc = 3
		case !strings.Contains(n, "."):
			sc = 2
		}
		if sc > score || (sc == score && n < best) {
			best, score = n, sc
		}
	}
	return best
}
