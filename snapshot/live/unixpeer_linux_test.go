//go:build linux

package live

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestUnixPeer: the kernel names each half of a socketpair as the other's
// peer, neither with a name; a client of a server bound to a path has the
// server's accepted socket, named, as its peer; and a socket that is no
// UNIX one has none.
func TestUnixPeer(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	ino := func(fd int) uint64 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	a, b := ino(fds[0]), ino(fds[1])
	if got, named, ok := UnixPeer(a); !ok || got != b || named {
		t.Errorf("UnixPeer(%d) = %d, named %v, %v; want %d, unnamed", a, got, named, ok, b)
	}
	if got, named, ok := UnixPeer(b); !ok || got != a || named {
		t.Errorf("UnixPeer(%d) = %d, named %v, %v; want %d, unnamed", b, got, named, ok, a)
	}
	path := t.TempDir() + "/s"
	srv, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(srv)
	if err := unix.Bind(srv, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(srv, 1); err != nil {
		t.Fatal(err)
	}
	cl, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cl)
	if err := unix.Connect(cl, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	acc, _, err := unix.Accept(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(acc)
	if got, named, ok := UnixPeer(ino(cl)); !ok || got != ino(acc) || named {
		t.Errorf("client: peer %d, named %v, %v; want %d, unnamed", got, named, ok, ino(acc))
	}
	if _, named, ok := UnixPeer(ino(acc)); !ok || !named {
		t.Errorf("accepted socket: named %v, %v; want named", named, ok)
	}
	udp, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(udp)
	if got, _, ok := UnixPeer(ino(udp)); ok {
		t.Errorf("a UDP socket has UNIX peer %d", got)
	}
}
