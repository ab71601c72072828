// Package corepattern finds the core file the kernel wrote for a process
// that died, from /proc/sys/kernel/core_pattern and core_uses_pid.
package corepattern

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Pattern reads the kernel's core_pattern. piped is true when the kernel
// hands cores to a program ("|/usr/lib/systemd/systemd-coredump …") rather
// than writing a file.
func Pattern() (pattern string, piped bool, err error) {
	b, err := os.ReadFile("/proc/sys/kernel/core_pattern")
	if err != nil {
		return "", false, fmt.Errorf("reading the kernel's core_pattern: %w", err)
	}
	pattern = strings.TrimSpace(string(b))
	return pattern, strings.HasPrefix(pattern, "|"), nil
}

// Find returns the core the kernel wrote for pid, which ran in directory
// dir (a relative core_pattern names a file there).
func Find(pid int, dir string) (string, error) {
	pattern, piped, err := Pattern()
	if err != nil {
		return "", err
	}
	if piped {
		return "", fmt.Errorf("the kernel hands cores to a program (core_pattern %q), not to a file: take the core from it (coredumpctl dump -o FILE %d)", pattern, pid)
	}
	glob := Glob(pattern, pid, UsesPID())
	if !filepath.IsAbs(glob) {
		glob = filepath.Join(dir, glob)
	}
	matches, _ := filepath.Glob(glob)
	if len(matches) == 0 {
		return "", fmt.Errorf("no core file matches %s (core_pattern %q)", glob, pattern)
	}
	return matches[len(matches)-1], nil
}

// Glob turns a core_pattern into a glob for the core of pid: %p is the pid, %% a
// percent sign, any other specifier a wildcard. core_uses_pid appends ".PID" when the
// pattern has no %p.
func Glob(pattern string, pid int, usesPID bool) string {
	var b strings.Builder
	hasPID := false
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '%' || i+1 == len(pattern) {
			b.WriteByte(pattern[i])
			continue
		}
		i++
		switch pattern[i] {
		case 'p':
			hasPID = true
			b.WriteString(strconv.Itoa(pid))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('*')
		}
	}
	if usesPID && !hasPID {
		fmt.Fprintf(&b, ".%d", pid)
	}
	return b.String()
}

// UsesPID reads core_uses_pid.
func UsesPID() bool {
	b, err := os.ReadFile("/proc/sys/kernel/core_uses_pid")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}
