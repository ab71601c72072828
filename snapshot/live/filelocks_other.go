//go:build !linux

package live

import (
	"errors"

	"github.com/pyhang/pyhang/snapshot"
)

// FileLockOf needs Linux's /proc.
func FileLockOf(pid, fd int) (*snapshot.FileLock, error) {
	return nil, errors.New("file locks: /proc/locks is Linux's")
}

// LockingFDs needs Linux's /proc.
func LockingFDs(pid, waiting int, file string) []int { return nil }
