//go:build !linux

package target

import (
	"errors"
	"os"
)

var errNoOpenat2 = errors.New("reading a target's files needs Linux")

func OpenInRoot(root, path string) (*os.File, error) { return nil, errNoOpenat2 }

func OpenBeneath(dir, path string) (*os.File, error) { return nil, errNoOpenat2 }
