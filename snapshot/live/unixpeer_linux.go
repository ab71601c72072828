//go:build linux

package live

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// UnixPeer asks the kernel (sock_diag, as ss -x does) for the inode of the
// socket at the other end of the UNIX socket inode (a socketpair's other
// half, or a connected client's server side), and whether inode has a name
// (bound to a path or an abstract address; a server's accepted sockets
// carry its name). It sees the sockets of pyhang's own network namespace
// only; ok is false when the kernel names no peer or cannot be asked.
func UnixPeer(inode uint64) (peer uint64, named, ok bool) {
	if inode == 0 || inode > 0xffffffff {
		return 0, false, false
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, false, false
	}
	defer unix.Close(fd)
	// nlmsghdr (16 bytes), then unix_diag_req (24 bytes).
	req := make([]byte, 40)
	le := binary.LittleEndian
	le.PutUint32(req[0:], uint32(len(req)))
	le.PutUint16(req[4:], sockDiagByFamily)
	le.PutUint16(req[6:], unix.NLM_F_REQUEST)
	le.PutUint32(req[8:], 1) // sequence
	req[16] = unix.AF_UNIX
	le.PutUint32(req[20:], 0xffffffff) // every state
	le.PutUint32(req[24:], uint32(inode))
	le.PutUint32(req[28:], udiagShowName|udiagShowPeer)
	le.PutUint32(req[32:], 0xffffffff) // no cookie
	le.PutUint32(req[36:], 0xffffffff)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, false, false
	}
	buf := make([]byte, 8192)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil || n < 16 {
		return 0, false, false
	}
	return parseUnixPeer(buf[:n], uint32(inode))
}

// parseUnixPeer reads the answer to UnixPeer's request: a unix_diag_msg of
// inode followed by its attributes: UNIX_DIAG_PEER holds the peer's inode,
// UNIX_DIAG_NAME is there when the socket has a name.
func parseUnixPeer(b []byte, inode uint32) (peer uint64, named, ok bool) {
	le := binary.LittleEndian
	if len(b) < 16 {
		return 0, false, false
	}
	msgLen, typ := int(le.Uint32(b[0:])), le.Uint16(b[4:])
	if msgLen < 16+16 || msgLen > len(b) || typ != sockDiagByFamily {
		return 0, false, false // NLMSG_ERROR: no such socket, or not ours to see
	}
	msg := b[16:msgLen]
	if msg[0] != unix.AF_UNIX || le.Uint32(msg[4:]) != inode {
		return 0, false, false
	}
	for at := 16; at+4 <= len(msg); {
		l, t := int(le.Uint16(msg[at:])), le.Uint16(msg[at+2:])
		if l < 4 || at+l > len(msg) {
			return 0, false, false
		}
		switch {
		case t == unixDiagName:
			named = true
		case t == unixDiagPeer && l >= 8:
			peer = uint64(le.Uint32(msg[at+4:]))
		}
		at += (l + 3) &^ 3
	}
	return peer, named, peer != 0
}

const (
	sockDiagByFamily = 20  // SOCK_DIAG_BY_FAMILY
	udiagShowName    = 0x1 // UDIAG_SHOW_NAME
	udiagShowPeer    = 0x4 // UDIAG_SHOW_PEER
	unixDiagName     = 0   // UNIX_DIAG_NAME
	unixDiagPeer     = 2   // UNIX_DIAG_PEER
)
