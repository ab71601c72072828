//go:build !linux

package live

import "os"

func readProc(path string) ([]byte, error) { return os.ReadFile(path) }
