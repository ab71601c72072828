//go:build !linux

package capture

import (
	"errors"
	"os"
)

var errNoOpenat2 = errors.New("reading a target's files needs Linux")

func openInRoot(root, path string) (*os.File, error) { return nil, errNoOpenat2 }

func openBeneath(dir, path string) (*os.File, error) { return nil, errNoOpenat2 }
