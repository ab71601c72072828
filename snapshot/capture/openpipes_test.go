package capture

import (
	"slices"
	"testing"

	"github.com/pyhang/pyhang/snapshot/live"
)

// TestAwaitedEnds: the pipe ends whose holders alone can end a wait are
// the other ends of the pipes it is on, and none when anything else can
// end it.
func TestAwaitedEnds(t *testing.T) {
	pipes := map[int]live.PipeEndRef{3: {Inode: 7, Write: false}, 4: {Inode: 7, Write: true}, 5: {Inode: 9, Write: false}}
	fd := func(n int) *int { return &n }
	for _, c := range []struct {
		name  string
		nr    int
		fd    *int
		fds   []int
		timed bool
		want  []live.PipeEndRef
	}{
		{"read of a read end", sysRead, fd(3), nil, false, []live.PipeEndRef{{Inode: 7, Write: true}}},
		{"write to a write end", sysWrite, fd(4), nil, false, []live.PipeEndRef{{Inode: 7, Write: false}}},
		{"read of a socket", sysRead, fd(8), nil, false, nil},
		{"recvfrom on a pipe's descriptor", sysRecvfrom, fd(3), nil, false, nil},
		{"poll of two read ends", sysPoll, nil, []int{3, 5}, false, []live.PipeEndRef{{Inode: 7, Write: true}, {Inode: 9, Write: true}}},
		{"select of a pipe and a socket", sysSelect, nil, []int{3, 8}, false, nil},
		{"poll with a timeout", sysPoll, nil, []int{3}, true, nil},
		{"futex", sysFutex, nil, nil, false, nil},
	} {
		if got := awaitedEnds(c.nr, c.fd, c.fds, c.timed, pipes); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
