//go:build linux && amd64

package live

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pyhang/pyhang/snapshot/target"
)

// OpenFile opens the file the target mapped at path (a Mapping.Path), trying
// in turn:
//   - /proc/PID/map_files/START-END: the very inode the target mapped, even if
//     it was deleted or replaced since (needs CAP_SYS_ADMIN or
//     CAP_CHECKPOINT_RESTORE, so as non-root this usually fails);
//   - PATH resolved inside /proc/PID/root: the path in the target's mount
//     namespace, which is what makes containers work; resolution stays in that
//     root (absolute symbolic links included).
//
// Never the path on this machine: it may name another file than the target's.
// A deleted file is opened only through map_files: the path now names another
// file (after an upgrade) or none. The returned file's Name is the path opened.
func (p *Process) OpenFile(path string) (target.File, error) {
	clean, deleted := TrimDeleted(path)
	var tried []string
	var lastErr error
	try := func(name string, open func() (*os.File, error)) *os.File {
		tried = append(tried, name)
		f, err := open()
		if err != nil {
			lastErr = err
			return nil
		}
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			f.Close()
			lastErr = fmt.Errorf("%s is not a regular file", name)
			return nil
		}
		return f
	}
	if m, ok := p.firstMapping(path); ok {
		name := procPath(p.pid, "map_files", fmt.Sprintf("%x-%x", m.Start, m.End))
		if f := try(name, func() (*os.File, error) { return os.Open(name) }); f != nil {
			return f, nil
		}
	}
	if !deleted && strings.HasPrefix(clean, "/") {
		root := procPath(p.pid, "root")
		if f := try(root+clean, func() (*os.File, error) { return target.OpenInRoot(root, clean) }); f != nil {
			return f, nil
		}
	}
	if lastErr == nil {
		lastErr = errors.New("not mapped by the target")
	}
	return nil, fmt.Errorf("opening %s mapped by pid %d (tried %s): %w", path, p.pid, strings.Join(tried, ", "), lastErr)
}

// firstMapping returns the mapping of path at the lowest file offset.
func (p *Process) firstMapping(path string) (target.Mapping, bool) {
	var best target.Mapping
	found := false
	for _, m := range p.maps {
		if m.Path == path && (!found || m.Offset < best.Offset) {
			best, found = m, true
		}
	}
	return best, found
}
