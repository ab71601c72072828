//go:build !linux

package live

// UnixPeer knows no peer here.
func UnixPeer(inode uint64) (peer uint64, named, ok bool) { return 0, false, false }
