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
//   - /proc/PID/root/PATH: the path in the target's mount namespace, which is
//     what makes containers work;
//   - PATH itself.
//
// A deleted file is opened only through map_files: the path now names another
// file (after an upgrade) or none. The returned file's Name is the path opened.
func (p *Process) OpenFile(path string) (target.File, error) {
	clean, deleted := TrimDeleted(path)
	var tried []string
	var lastErr error
	try := func(name string) *os.File {
		tried = append(tried, name)
		f, err := os.Open(name)
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
		if f := try(procPath(p.pid, "map_files", fmt.Sprintf("%x-%x", m.Start, m.End))); f != nil {
			return f, nil
		}
	}
	if !deleted && strings.HasPrefix(clean, "/") {
		if f := try(procPath(p.pid, "root") + clean); f != nil {
			return f, nil
		}
		if f := try(clean); f != nil {
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
