package capture

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/live"
	"golang.org/x/sys/unix"
)

// The kernel's side of a socket a thread waits on: its local and peer
// addresses and TCP state. A live target's /proc/PID/fd/N names the socket's
// inode; /proc/PID/net/tcp and tcp6 are the tables of the target's own
// network namespace. Only the sockets some thread is blocked on are looked
// up, after the memory was read: the descriptor table is read a moment
// later than the memory, so the inode is checked to be a socket's.

const (
	// maxNetLines bounds the lines read from one /proc/PID/net table.
	maxNetLines = 1 << 20
	// maxNetLine bounds one line of it.
	maxNetLine = 4096
)

// tcpStates are the kernel's TCP state numbers (include/net/tcp_states.h).
var tcpStates = map[uint64]string{
	1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
	7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV",
}

// addSocketFacts fills in the kernel's view of every socket object a thread
// of a live target is blocked on.
func addSocketFacts(s *snapshot.Snapshot, pid int) {
	byFD := map[int]*snapshot.Object{}
	for _, ob := range s.Objects {
		if ob.Kind == snapshot.KindSocket && ob.FD != nil {
			byFD[*ob.FD] = ob
		}
	}
	want := map[uint64]*snapshot.Object{}
	var own ownSockets
	for _, th := range s.Threads {
		k := th.Kernel
		if k == nil || th.State != snapshot.StateIO {
			continue
		}
		fds := k.FDs
		if k.FD != nil {
			fds = append([]int{*k.FD}, fds...)
		}
		for _, fd := range fds {
			ob := byFD[fd]
			if ob == nil || ob.Socket != nil {
				continue
			}
			inode, ok := socketInode(pid, fd)
			if !ok {
				continue
			}
			ob.Socket = &snapshot.SocketInfo{Inode: inode}
			if maybeTCP(pid, fd) {
				want[inode] = ob
			} else if peer, named, ok := live.UnixPeer(inode); ok {
				ob.Socket.Proto, ob.Socket.PeerInode = "unix", peer
				ob.Socket.Pair = !named && unnamed(peer) && own.has(pid, peer)
			}
		}
	}
	if len(want) == 0 {
		return // no TCP socket: the tables (one line per socket of the namespace) are not read
	}
	for _, proto := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, proto))
		if err != nil {
			continue
		}
		scanNetTable(f, proto, want)
		f.Close()
	}
}

// unnamed says whether the UNIX socket inode has no name, as both halves
// of a socketpair have none (a server's accepted sockets carry its name).
func unnamed(inode uint64) bool {
	_, named, ok := live.UnixPeer(inode)
	return ok && !named
}

// ownSockets is the set of socket inodes a live target's descriptors name,
// read once, when first asked.
type ownSockets struct {
	read   bool
	inodes map[uint64]bool
}

// has says whether one of pid's descriptors is the socket inode.
func (o *ownSockets) has(pid int, inode uint64) bool {
	if !o.read {
		o.read, o.inodes = true, map[uint64]bool{}
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		names, _ := readDirNames(dir, maxOwnFDs)
		for _, n := range names {
			link, err := os.Readlink(dir + "/" + n)
			if err != nil || !strings.HasPrefix(link, "socket:[") || !strings.HasSuffix(link, "]") {
				continue
			}
			if v, err := strconv.ParseUint(link[len("socket:["):len(link)-1], 10, 64); err == nil {
				o.inodes[v] = true
			}
		}
	}
	return o.inodes[inode]
}

// maxOwnFDs bounds the descriptors ownSockets reads.
const maxOwnFDs = 1 << 16

// readDirNames lists at most max names of a directory.
func readDirNames(dir string, max int) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(max)
}

// maybeTCP says whether the socket behind a descriptor may be a TCP one: its
// protocol as the kernel names it (the system.sockprotoname attribute: TCP,
// TCPv6, UNIX-STREAM, UDP…) starts with TCP, or cannot be read.
func maybeTCP(pid, fd int) bool {
	var buf [32]byte
	n, err := unix.Getxattr(fmt.Sprintf("/proc/%d/fd/%d", pid, fd), "system.sockprotoname", buf[:])
	return err != nil || strings.HasPrefix(string(buf[:n]), "TCP")
}

// socketInode reads the inode of the socket behind a descriptor.
func socketInode(pid, fd int) (uint64, bool) {
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
	if err != nil || !strings.HasPrefix(link, "socket:[") || !strings.HasSuffix(link, "]") {
		return 0, false
	}
	n, err := strconv.ParseUint(link[len("socket:["):len(link)-1], 10, 64)
	return n, err == nil && n != 0
}

// scanNetTable reads a /proc/net/tcp-style table and fills in the sockets
// whose inodes it lists.
func scanNetTable(r io.Reader, proto string, want map[uint64]*snapshot.Object) {
	keep := func(inode uint64) bool { return want[inode] != nil }
	eachNetLine(r, keep, func(local, peer string, st, inode uint64) {
		ob := want[inode]
		ob.Socket.Proto, ob.Socket.Local, ob.Socket.State = proto, local, tcpStates[st]
		if ob.Socket.State != "LISTEN" {
			ob.Socket.Peer = peer
		}
	})
}

// eachNetLine calls visit with each well-formed line of a /proc/net/tcp-style
// table whose inode keep takes (nil: all): its local and peer addresses, its
// state and its inode.
func eachNetLine(r io.Reader, keep func(inode uint64) bool, visit func(local, peer string, state, inode uint64)) {
	sc := bufio.NewScanner(io.LimitReader(r, maxNetLines*maxNetLine))
	sc.Buffer(make([]byte, 0, maxNetLine), maxNetLine)
	for n := 0; sc.Scan() && n < maxNetLines; n++ {
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
		f := strings.Fields(sc.Text())
		if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
			continue
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil || keep != nil && !keep(inode) {
			continue
		}
		local, ok1 := procAddr(f[1])
		peer, ok2 := procAddr(f[2])
		st, err := strconv.ParseUint(f[3], 16, 8)
		if !ok1 || !ok2 || err != nil {
			continue
		}
		visit(local, peer, st, inode)
	}
}

// procAddr decodes "0100007F:1F90" (IPv4) or 32 hex digits and a port
// (IPv6): each 32-bit word of the address is in the kernel's byte order,
// little-endian on x86-64.
func procAddr(s string) (string, bool) {
	ip, port, ok := strings.Cut(s, ":")
	if !ok || (len(ip) != 8 && len(ip) != 32) {
		return "", false
	}
	raw, err := hex.DecodeString(ip)
	p, err2 := strconv.ParseUint(port, 16, 16)
	if err != nil || err2 != nil {
		return "", false
	}
	for i := 0; i+4 <= len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	return net.JoinHostPort(net.IP(raw).String(), strconv.Itoa(int(p))), true
}
