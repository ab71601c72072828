package testinterp

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// PrivateDir returns a new directory under the repository's .cache/ (removed when the
// test ends) on a path that only root and the test's user can write, from / down: the
// kind of place pyhang accepts a compilation cache in, which a temporary directory such
// as /tmp is not. It has mode 0755, so that other users can reach the directories a test
// makes in it for them. It skips the test, saying why, when the checkout lies on a path
// others can write.
func PrivateDir(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(root, ".cache")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if base, err = filepath.EvalSymlinks(base); err != nil {
		t.Fatal(err)
	}
	euid := uint32(os.Geteuid())
	for p := base; ; p = filepath.Dir(p) {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if (st.Uid != 0 && st.Uid != euid) || st.Mode&0o022 != 0 {
			t.Skipf("SKIP: %s (uid %d, mode %o) can be written by others than root and uid %d, so no directory below it is private; run the tests from a checkout on a private path", p, st.Uid, st.Mode&0o7777, euid)
		}
		if p == "/" {
			break
		}
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
