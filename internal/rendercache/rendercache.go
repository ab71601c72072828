// Package rendercache decides where the picture renderer (cmd/pyhang-render)
// may keep go-graphviz's compilation cache: compiled machine code that the
// renderer loads and runs. That is only ever a directory the invoking user
// alone can write, $XDG_CACHE_HOME/pyhang or ~/.cache/pyhang, or no cache at
// all.
//
// The package imports only what wazero's root package imports as well (os,
// path/filepath, strconv, strings, syscall): package guard, which uses it,
// must be initialised before go-graphviz, and Go initialises a package as
// soon as its imports are (among the packages ready, in import path order).
package rendercache

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// NoCache is the TMPDIR the renderer gets when no safe cache directory can
// be had. go-graphviz keeps its cache in os.TempDir()/go-graphviz and runs
// without one when it can neither stat nor create that directory; nothing
// can be created under /dev/null, a device only root can replace.
const NoCache = "/dev/null"

// Walk bounds: a cache holds a few files (go-graphviz/wazero-VERSION-ARCH/
// one file per compiled module); more than this is not ours.
const (
	maxDepth   = 4
	maxEntries = 256
)

// Dir returns the invoking user's renderer cache directory with symbolic
// links resolved, creating it (mode 0700) and a missing parent (0700, as
// ~/.cache on a fresh account) first, or an error saying why there is none.
// Nothing is created unless every existing directory on the way is owned by
// root or the effective user and writable by no one else.
func Dir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "pyhang")
	if !filepath.IsAbs(dir) {
		return "", errors.New("cache directory " + strconv.Quote(dir) + " is not absolute")
	}
	// Resolve the part that exists and check it before creating the rest.
	existing, missing := dir, []string(nil)
	for {
		if _, err := os.Lstat(existing); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			return "", errors.New("no part of " + strconv.Quote(dir) + " exists")
		}
		missing = append([]string{filepath.Base(existing)}, missing...)
		if len(missing) > 2 {
			return "", errors.New(strconv.Quote(filepath.Dir(parent)) + " does not exist")
		}
		existing = parent
	}
	real, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return "", err
	}
	if err := checkChain(real, len(missing) == 0); err != nil {
		return "", err
	}
	for _, name := range missing {
		real = filepath.Join(real, name)
		if err := os.Mkdir(real, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	real, err = Check(real)
	if err != nil {
		return "", err
	}
	// Compared as text: pyhang touches nothing under $TMPDIR, not even
	// with a stat. The checks above already refuse a directory others can
	// write; this keeps the cache out of a private $TMPDIR too.
	for _, tmp := range []string{os.TempDir(), "/tmp", "/var/tmp"} {
		if within(real, filepath.Clean(tmp)) {
			return "", errors.New(real + " is under the temporary directory " + tmp)
		}
	}
	return real, nil
}

// Check returns dir with symbolic links resolved if it is safe to keep
// compiled code in: every directory from / down is owned by root or the
// effective user and writable by no one else, dir itself is the effective
// user's, and so is everything already in it.
func Check(dir string) (string, error) {
	if !filepath.IsAbs(dir) {
		return "", errors.New(strconv.Quote(dir) + " is not an absolute path")
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	if err := checkChain(real, true); err != nil {
		return "", err
	}
	entries := 0
	if err := checkTree(real, 0, &entries); err != nil {
		return "", err
	}
	return real, nil
}

// checkChain checks every directory of the absolute, resolved path real.
// When own is set, real itself must belong to the effective user, not
// just to root or them.
func checkChain(real string, own bool) error {
	euid := uint32(os.Geteuid())
	p := real
	for first := true; ; first = false {
		st, err := lstat(p)
		if err != nil {
			return err
		}
		if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
			return errors.New(p + " is not a directory")
		}
		if st.Uid != euid && (st.Uid != 0 || (first && own)) {
			return errors.New(p + " is owned by uid " + strconv.Itoa(int(st.Uid)) + ", not uid " + strconv.Itoa(int(euid)))
		}
		if st.Mode&0o022 != 0 {
			return errors.New(p + " is writable by group or others (mode " + strconv.FormatUint(uint64(st.Mode&0o7777), 8) + ")")
		}
		parent := filepath.Dir(p)
		if parent == p {
			return nil
		}
		p = parent
	}
}

// checkTree requires everything below dir to be a directory or a regular
// file of the effective user's that no one else can write.
func checkTree(dir string, depth int, entries *int) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(maxEntries + 1)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	euid := uint32(os.Geteuid())
	for _, name := range names {
		*entries++
		if *entries > maxEntries {
			return errors.New(dir + " holds more than " + strconv.Itoa(maxEntries) + " entries")
		}
		p := filepath.Join(dir, name)
		st, err := lstat(p)
		if err != nil {
			return err
		}
		kind := st.Mode & syscall.S_IFMT
		if kind != syscall.S_IFDIR && kind != syscall.S_IFREG {
			return errors.New(p + " is neither a directory nor a regular file")
		}
		if st.Uid != euid {
			return errors.New(p + " is owned by uid " + strconv.Itoa(int(st.Uid)) + ", not uid " + strconv.Itoa(int(euid)))
		}
		if st.Mode&0o022 != 0 {
			return errors.New(p + " is writable by group or others")
		}
		if kind == syscall.S_IFDIR {
			if depth+1 >= maxDepth {
				return errors.New(p + " is nested deeper than a cache")
			}
			if err := checkTree(p, depth+1, entries); err != nil {
				return err
			}
		}
	}
	return nil
}

func lstat(p string) (*syscall.Stat_t, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	return &st, nil
}

// within reports whether p is dir or below it (both clean and absolute).
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}
