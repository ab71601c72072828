package rendercache_test

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pyhang/pyhang/internal/rendercache"
	"github.com/pyhang/pyhang/internal/testinterp"
)

// otherUser is a user id that is neither root nor the test's (nobody), for
// files another user owns; tests that need it run as root.
func otherUser(t *testing.T) (uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: giving files to another user needs root")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("SKIP: no user nobody: %v", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}

func mkdir(t *testing.T, p string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func write(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte("junk"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, p string, uid, gid int) {
	t.Helper()
	if err := os.Lchown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
}

// cache makes the layout go-graphviz leaves: go-graphviz/wazero-…/a file.
func cache(t *testing.T, dir string) string {
	t.Helper()
	sub := mkdir(t, filepath.Join(dir, "go-graphviz", "wazero-v1.10.1-amd64-linux"), 0o700)
	os.Chmod(filepath.Join(dir, "go-graphviz"), 0o755)
	write(t, filepath.Join(sub, "0123abcd"), 0o600)
	return sub
}

func TestCheck(t *testing.T) {
	base := testinterp.PrivateDir(t)
	good := mkdir(t, filepath.Join(base, "good"), 0o700)
	cache(t, good)
	if real, err := rendercache.Check(good); err != nil || real != good {
		t.Errorf("Check(%s) = %q, %v; want it accepted", good, real, err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	if real, err := rendercache.Check(link); err != nil || real != good {
		t.Errorf("Check(%s) = %q, %v; want %s", link, real, err, good)
	}
	readable := mkdir(t, filepath.Join(base, "readable"), 0o755)
	if _, err := rendercache.Check(readable); err != nil {
		t.Errorf("a 0755 directory: %v", err)
	}

	bad := func(name, dir, say string) {
		t.Helper()
		real, err := rendercache.Check(dir)
		if err == nil || !strings.Contains(err.Error(), say) {
			t.Errorf("%s: Check(%s) = %q, %v; want an error saying %q", name, dir, real, err, say)
		}
	}
	bad("relative", "cache/pyhang", "not an absolute path")
	bad("missing", filepath.Join(base, "nosuch"), "no such file")
	bad("group-writable", mkdir(t, filepath.Join(base, "gw"), 0o770), "writable by group or others")
	sub := mkdir(t, filepath.Join(base, "ww", "sub"), 0o700)
	mkdir(t, filepath.Join(base, "ww"), 0o777)
	bad("world-writable parent", sub, "writable by group or others")
	bad("sticky /tmp", mkdir(t, filepath.Join(os.TempDir(), "pyhang-rendercache-test"), 0o700), "writable by group or others")
	os.RemoveAll(filepath.Join(os.TempDir(), "pyhang-rendercache-test"))
	file := filepath.Join(base, "file")
	write(t, file, 0o600)
	bad("a file", file, "not a directory")

	d := mkdir(t, filepath.Join(base, "gwfile"), 0o700)
	write(t, filepath.Join(cache(t, d), "planted"), 0o666)
	bad("a group-writable file in the cache", d, "writable by group or others")

	d = mkdir(t, filepath.Join(base, "symlinked"), 0o700)
	if err := os.Symlink("/etc/passwd", filepath.Join(cache(t, d), "planted")); err != nil {
		t.Fatal(err)
	}
	bad("a symlink in the cache", d, "neither a directory nor a regular file")

	d = mkdir(t, filepath.Join(base, "fifo"), 0o700)
	if err := syscall.Mkfifo(filepath.Join(d, "go-graphviz"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad("a fifo in the cache", d, "neither a directory nor a regular file")

	d = mkdir(t, filepath.Join(base, "many"), 0o700)
	for i := range 300 {
		write(t, filepath.Join(d, strconv.Itoa(i)), 0o600)
	}
	bad("too many entries", d, "more than 256 entries")

	d = mkdir(t, filepath.Join(base, "deep"), 0o700)
	mkdir(t, filepath.Join(d, "a", "b", "c", "d", "e"), 0o700)
	bad("too deep", d, "nested deeper")

	t.Run("owners", func(t *testing.T) {
		uid, gid := otherUser(t)
		d := mkdir(t, filepath.Join(base, "theirs"), 0o700)
		chown(t, d, uid, gid)
		bad("owned by another user", d, "owned by uid "+strconv.Itoa(uid))

		d = mkdir(t, filepath.Join(base, "theirparent", "mine"), 0o700)
		chown(t, filepath.Dir(d), uid, gid)
		bad("parent owned by another user", d, "owned by uid "+strconv.Itoa(uid))

		d = mkdir(t, filepath.Join(base, "planted"), 0o700)
		f := filepath.Join(cache(t, d), "0123abcd")
		chown(t, f, uid, gid)
		bad("a cache file another user owns", d, "owned by uid "+strconv.Itoa(uid))
	})
}

func TestDir(t *testing.T) {
	base := testinterp.PrivateDir(t)

	t.Run("created", func(t *testing.T) {
		xdg := filepath.Join(base, "xdg")
		t.Setenv("XDG_CACHE_HOME", xdg)
		dir, err := rendercache.Dir()
		if err != nil || dir != filepath.Join(xdg, "pyhang") {
			t.Fatalf("Dir() = %q, %v", dir, err)
		}
		for _, p := range []string{xdg, dir} {
			if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o700 {
				t.Errorf("%s: %v %v, want mode 0700", p, st.Mode(), err)
			}
		}
		// Again: it exists and holds a cache now.
		cache(t, dir)
		if again, err := rendercache.Dir(); err != nil || again != dir {
			t.Errorf("second Dir() = %q, %v", again, err)
		}
	})
	t.Run("home", func(t *testing.T) {
		home := mkdir(t, filepath.Join(base, "home"), 0o700)
		t.Setenv("XDG_CACHE_HOME", "")
		t.Setenv("HOME", home)
		if dir, err := rendercache.Dir(); err != nil || dir != filepath.Join(home, ".cache", "pyhang") {
			t.Errorf("Dir() = %q, %v", dir, err)
		}
	})

	none := func(name, say string, mustNotExist ...string) {
		t.Helper()
		dir, err := rendercache.Dir()
		if err == nil || !strings.Contains(err.Error(), say) {
			t.Errorf("%s: Dir() = %q, %v; want an error saying %q", name, dir, err, say)
		}
		for _, p := range mustNotExist {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("%s: Dir() created %s", name, p)
			}
		}
	}
	t.Setenv("XDG_CACHE_HOME", "relative/cache")
	none("relative XDG_CACHE_HOME", "relative")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	none("no HOME", "$HOME")
	tmp := filepath.Join(os.TempDir(), "pyhang-rendercache-test-xdg")
	t.Setenv("XDG_CACHE_HOME", tmp)
	none("under the temporary directory", "writable by group or others", tmp)
	deep := filepath.Join(base, "a", "b", "c")
	t.Setenv("XDG_CACHE_HOME", deep)
	none("three directories missing", "does not exist", filepath.Join(base, "a"))
	ww := mkdir(t, filepath.Join(base, "ww"), 0o777)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(ww, "cache"))
	none("world-writable parent", "writable by group or others", filepath.Join(ww, "cache"))
	t.Run("someone else's home", func(t *testing.T) {
		uid, gid := otherUser(t)
		home := mkdir(t, filepath.Join(base, "alice"), 0o755)
		chown(t, home, uid, gid)
		t.Setenv("XDG_CACHE_HOME", "")
		t.Setenv("HOME", home)
		none("a home another user owns", "owned by uid "+strconv.Itoa(uid), filepath.Join(home, ".cache"))
	})
}
