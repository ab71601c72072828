// Package guard is imported by every package that links go-graphviz
// (waitgraph/render). Its init points TMPDIR at a directory that is safe to
// keep compiled code in, or at none, before go-graphviz's init reads it;
// Restore, called from the importer's init (which runs after go-graphviz's),
// gives the rest of the program its TMPDIR back.
//
// go-graphviz's init compiles its WebAssembly with wazero and loads and
// stores the machine code in os.TempDir()/go-graphviz, created mode 0755 by
// whoever comes first and used whatever it holds. A shared temporary
// directory would let any local user plant code the renderer runs, and
// root's leftovers would make every other user's renderer fail.
//
// Order: Go initialises a package once all its imports are, picking among
// the packages ready the first by import path. This package and
// rendercache import only packages that wazero's root package imports too,
// so this one is ready no later than that package, and its path sorts
// before github.com/tetratelabs/wazero: it is initialised before it, and so
// before go-graphviz's internal/wasm, which imports it.
// cmd/pyhang-render's tests check that order in the built binary.
package guard

import (
	"os"

	"github.com/pyhang/pyhang/internal/rendercache"
)

// The environment's TMPDIR, for Restore.
var (
	tmpdir    string
	hadTmpdir bool
)

func init() {
	tmpdir, hadTmpdir = os.LookupEnv("TMPDIR")
	// pyhang passes rendercache.Dir() here; anything else, or nothing
	// (os.TempDir() is then /tmp), must pass the same check.
	if tmpdir != "" {
		if real, err := rendercache.Check(tmpdir); err == nil {
			os.Setenv("TMPDIR", real)
			return
		}
	}
	os.Setenv("TMPDIR", rendercache.NoCache)
}

// Restore sets TMPDIR back to what the environment said, once go-graphviz's
// init has read it (go-graphviz reads it nowhere else).
func Restore() {
	if hadTmpdir {
		os.Setenv("TMPDIR", tmpdir)
	} else {
		os.Unsetenv("TMPDIR")
	}
}
