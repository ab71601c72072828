package capture

import (
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:8080/3", "http://127.0.0.1:8080/3"},
		{"https://bob:s3cret@example.com/a?b=c", "https://bob:***@example.com/a?b=c"},
		{"https://bob@example.com/x@y", "https://bob@example.com/x@y"},
		{"ftp://u:p:q@h/x", "ftp://u:***@h/x"},
		{"https://api.example.com/v1/items?page=2&api_key=SUPER&x=1#top", "https://api.example.com/v1/items?page=2&api_key=***&x=1#top"},
		{"http://h/feed?token=secret", "http://h/feed?token=***"},
		{"https://s3/b/o?X-Amz-Signature=abc&X-Amz-Date=1", "https://s3/b/o?X-Amz-Signature=***&X-Amz-Date=1"},
		{"https://u:p@h/?access_token=t", "https://u:***@h/?access_token=***"},
	} {
		got, ok := redactURL(tc.in)
		if !ok || got != tc.want {
			t.Errorf("redactURL(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"http://[::1", "x://"} {
		if got, ok := redactURL(bad); ok {
			t.Errorf("redactURL(%q) = %q, want refused", bad, got)
		}
	}
}

func TestWaitArgs(t *testing.T) {
	mem := map[uint64]uint64{
		0x1000: 7 | 1<<32,          // pollfd {fd 7, POLLIN}
		0x1008: 0xffffffff | 1<<32, // fd -1: ignored by poll
		0x2000: 1<<3 | 1<<9,        // fd_set: 3 and 9
	}
	word := func(a uint64) (uint64, error) { return mem[a], nil }
	fds, timed, ok := waitArgs(word, sysPoll, [6]uint64{0x1000, 2, 0xffffffff})
	if !ok || timed || len(fds) != 1 || fds[0] != 7 {
		t.Errorf("poll(-1): fds %v timed %v ok %v", fds, timed, ok)
	}
	if _, timed, _ := waitArgs(word, sysPoll, [6]uint64{0x1000, 1, 500}); !timed {
		t.Error("poll(500 ms) is not timed")
	}
	fds, timed, ok = waitArgs(word, sysSelect, [6]uint64{10, 0x2000, 0, 0, 0})
	if !ok || timed || len(fds) != 2 || fds[0] != 3 || fds[1] != 9 {
		t.Errorf("select(NULL timeout): fds %v timed %v", fds, timed)
	}
	if _, _, ok := waitArgs(word, sysRecvfrom, [6]uint64{}); ok {
		t.Error("recvfrom is no poll")
	}
	// A huge nfds read from a hostile core stays bounded.
	fds, _, _ = waitArgs(func(uint64) (uint64, error) { return 7 | 1<<32, nil }, sysPoll, [6]uint64{0x1000, 1 << 40, 0})
	if len(fds) > maxPollFDs {
		t.Errorf("%d fds, bound is %d", len(fds), maxPollFDs)
	}
}

func TestScanNetTable(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:B5FF 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:9C40 0100007F:B5FF 01 00000000:00000000 00:00000000 00000000     0        0 4243 1 0000000000000000 20 4 30 10 -1
`
	listen := &snapshot.Object{Socket: &snapshot.SocketInfo{Inode: 4242}}
	conn := &snapshot.Object{Socket: &snapshot.SocketInfo{Inode: 4243}}
	scanNetTable(strings.NewReader(table), "tcp", map[uint64]*snapshot.Object{4242: listen, 4243: conn})
	if s := listen.Socket; s.State != "LISTEN" || s.Local != "127.0.0.1:46591" || s.Peer != "" {
		t.Errorf("listening socket: %+v", s)
	}
	if s := conn.Socket; s.State != "ESTABLISHED" || s.Local != "127.0.0.1:40000" || s.Peer != "127.0.0.1:46591" || s.Proto != "tcp" {
		t.Errorf("connected socket: %+v", s)
	}
	v6, ok := procAddr("00000000000000000000000001000000:01BB")
	if !ok || v6 != "[::1]:443" {
		t.Errorf("procAddr(::1) = %q, %v", v6, ok)
	}
}
