package testinterp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// PrivateDir returns a new directory (removed when the test ends) on a path that only
// root and the test's user can write, from / down: the kind of place pyhang accepts a
// compilation cache in, which a temporary directory such as /tmp is not. It lies under
// the repository's .cache/, or, when the checkout lies on a path others can write (a
// clone under /tmp), under /var/cache/pyhang-tests for root. It has mode 0755, so that
// other users can reach the directories a test makes in it for them. It skips the test,
// saying why, when neither place is private.
func PrivateDir(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bases := []string{filepath.Join(root, ".cache")}
	if os.Geteuid() == 0 {
		bases = append(bases, "/var/cache/pyhang-tests")
	}
	var why []string
	for _, base := range bases {
		if err := os.MkdirAll(base, 0o755); err != nil {
			t.Fatal(err)
		}
		if base, err = filepath.EvalSymlinks(base); err != nil {
			t.Fatal(err)
		}
		if open := writableByOthers(t, base); open != "" {
			why = append(why, open)
			continue
		}
		dir, err := os.MkdirTemp(base, "test-"+strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())+"-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	t.Skipf("SKIP: no private directory: %s; run the tests as root, or from a checkout on a private path", strings.Join(why, "; "))
	return ""
}

// writableByOthers names the first directory from p up to / that a user other than
// root and this one can write, or returns "" when there is none.
func writableByOthers(t testing.TB, p string) string {
	t.Helper()
	euid := uint32(os.Geteuid())
	for ; ; p = filepath.Dir(p) {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if (st.Uid != 0 && st.Uid != euid) || st.Mode&0o022 != 0 {
			return fmt.Sprintf("%s (uid %d, mode %o) can be written by others than root and uid %d", p, st.Uid, st.Mode&0o7777, euid)
		}
		if p == "/" {
			return ""
		}
	}
}
