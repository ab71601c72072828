package live

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/snapshot/target"
)

// Bounds on what /proc may hand us; a process beyond them is reported partially
// with a warning rather than exhausting pyhang.
const (
	maxThreads  = 1 << 16
	maxMappings = 1 << 20
	maxMapsLine = 1 << 16 // a path is at most PATH_MAX (4096) plus the fields
)

// deletedSuffix is what the kernel appends to the path of a mapped file that
// was unlinked (or replaced, e.g. by a package upgrade) after being mapped.
const deletedSuffix = " (deleted)"

// TrimDeleted splits the " (deleted)" flag off a mapping path. Mappings keep
// the suffix, as the target saw it; OpenFile then reads such a file through
// /proc/PID/map_files, since the path may now name another file or none.
func TrimDeleted(path string) (clean string, deleted bool) {
	if p, ok := strings.CutSuffix(path, deletedSuffix); ok {
		return p, true
	}
	return path, false
}

func procPath(pid int, parts ...string) string {
	return "/proc/" + strconv.Itoa(pid) + "/" + strings.Join(parts, "/")
}

// listTasks returns the thread ids of pid, ascending.
func listTasks(pid int) ([]int, error) {
	f, err := os.Open(procPath(pid, "task"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(maxThreads + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("listing %s: %w", f.Name(), err)
	}
	tids := make([]int, 0, len(names))
	for _, n := range names {
		if tid, err := strconv.Atoi(n); err == nil && tid > 0 {
			tids = append(tids, tid)
		}
	}
	sort.Ints(tids)
	return tids, nil
}

// parseStatState returns the state letter of a /proc stat line. The command
// name (in parentheses) may itself hold ") ", so the last ')' ends it.
func parseStatState(stat []byte) (string, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) || stat[i+1] != ' ' {
		return "", fmt.Errorf("malformed stat line %q", truncate(stat, 80))
	}
	return string(stat[i+2]), nil
}

// numThreads reads how many threads process pid has (/proc/PID/stat, field
// 20): one small read, where listing /proc/PID/task reads a directory.
func numThreads(pid int) (int, error) {
	b, err := readProc(procPath(pid, "stat"))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat line %q", truncate(b, 80))
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 18 {
		return 0, fmt.Errorf("short stat line %q", truncate(b, 80))
	}
	return strconv.Atoi(f[17]) // fields from 3 (state) on: 20 is the 18th
}

// readState reads a thread's state letter; "" when the thread is gone.
func readState(pid, tid int) string {
	s, _ := readStateComm(pid, tid)
	return s
}

// readStateComm reads a thread's state letter and its name (comm), both
// from its stat line; "" when the thread is gone.
func readStateComm(pid, tid int) (state, comm string) {
	b, err := readProc(procPath(pid, "task", strconv.Itoa(tid), "stat"))
	if err != nil {
		return "", ""
	}
	return parseStateComm(b)
}

// stateComm is readStateComm through d.
func (d *taskDir) stateComm(tid int) (state, comm string) {
	b, err := d.read(tid, "stat")
	if err != nil {
		return "", ""
	}
	return parseStateComm(b)
}

// parseStateComm takes the state letter and the name from a stat line.
func parseStateComm(b []byte) (state, comm string) {
	s, err := parseStatState(b)
	if err != nil {
		return "", ""
	}
	if i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')'); i >= 0 && j > i {
		comm = string(b[i+1 : j])
	}
	return s, comm
}

// statusField returns one "Name:\tvalue" field of /proc/PID/status.
func statusField(pid int, name string) (string, error) {
	b, err := readProc(procPath(pid, "status"))
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no %s in %s", name, procPath(pid, "status"))
}

func statusInt(pid int, name string) (int, error) {
	v, err := statusField(pid, name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}

// parseMaps parses /proc/PID/maps:
//
//	7f3c1a000000-7f3c1a021000 r-xp 00000000 fd:01 1234   /usr/lib/libpython3.12.so.1.0
//
// The path starts after the inode and may contain spaces; pseudo paths such as
// [heap] and [stack] are kept.
func parseMaps(r io.Reader) ([]target.Mapping, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxMapsLine)
	var maps []target.Mapping
	for line := 1; sc.Scan(); line++ {
		if len(maps) >= maxMappings {
			return maps, fmt.Errorf("more than %d mappings, the rest ignored", maxMappings)
		}
		m, err := parseMapsLine(sc.Text())
		if err != nil {
			return maps, fmt.Errorf("maps line %d: %w", line, err)
		}
		maps = append(maps, m)
	}
	if err := sc.Err(); err != nil {
		return maps, fmt.Errorf("reading maps after %d mappings: %w", len(maps), err)
	}
	return maps, nil
}

func parseMapsLine(s string) (target.Mapping, error) {
	var m target.Mapping
	rest := s
	field := func() string {
		rest = strings.TrimLeft(rest, " ")
		f, r, _ := strings.Cut(rest, " ")
		rest = r
		return f
	}
	rng, perms, off, dev, inode := field(), field(), field(), field(), field()
	lo, hi, ok := strings.Cut(rng, "-")
	if !ok || len(perms) != 4 || dev == "" || inode == "" {
		return m, fmt.Errorf("malformed %q", truncate([]byte(s), 120))
	}
	var err error
	if m.Start, err = strconv.ParseUint(lo, 16, 64); err != nil {
		return m, fmt.Errorf("start of %q: %w", rng, err)
	}
	if m.End, err = strconv.ParseUint(hi, 16, 64); err != nil {
		return m, fmt.Errorf("end of %q: %w", rng, err)
	}
	if m.End < m.Start {
		return m, fmt.Errorf("range %q ends before it starts", rng)
	}
	if m.Offset, err = strconv.ParseUint(off, 16, 64); err != nil {
		return m, fmt.Errorf("offset %q: %w", off, err)
	}
	m.Perms = perms
	m.Path = strings.TrimLeft(rest, " ")
	return m, nil
}

// syscallInfo is a parsed /proc/PID/task/TID/syscall.
type syscallInfo struct {
	Running   bool // the thread was on a CPU: nothing else is known
	InSyscall bool
	Nr        int
	Args      [6]uint64
	SP, PC    uint64
}

// parseSyscallFile parses the kernel's three forms:
//
//	running
//	-1 0x7ffd5c0e8f38 0x7f3c1a0b2f4d                 (blocked, not in a syscall)
//	202 0x7f… 0x80 0x0 0x0 0x0 0x0 0x7ffd… 0x7f3c…  (nr, six args, sp, pc)
func parseSyscallFile(b []byte) (syscallInfo, error) {
	var si syscallInfo
	f := strings.Fields(string(b))
	if len(f) == 1 && f[0] == "running" {
		si.Running = true
		return si, nil
	}
	if len(f) == 0 {
		return si, errors.New("empty syscall file")
	}
	nr, err := strconv.Atoi(f[0])
	if err != nil {
		return si, fmt.Errorf("syscall number %q: %w", f[0], err)
	}
	want := 3
	if nr >= 0 {
		want = 9
	}
	if len(f) != want {
		return si, fmt.Errorf("syscall file %q: %d fields, want %d", truncate(b, 200), len(f), want)
	}
	vals := make([]uint64, 0, 8)
	for _, s := range f[1:] {
		v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
		if err != nil {
			return si, fmt.Errorf("syscall file value %q: %w", s, err)
		}
		vals = append(vals, v)
	}
	if nr >= 0 {
		si.InSyscall, si.Nr = true, nr
		copy(si.Args[:], vals[:6])
		vals = vals[6:]
	} else {
		si.Nr = -1
	}
	si.SP, si.PC = vals[0], vals[1]
	return si, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// maxStackLines bounds the kernel stack read for one thread.
const maxStackLines = 64

// kernelWait returns the kernel functions a sleeping thread is in, innermost
// first: /proc/PID/task/TID/stack when readable (root), else wchan (its
// innermost one). nil when neither says anything.
func kernelWait(pid, tid int) []string {
	task := strconv.Itoa(tid)
	if b, err := readProc(procPath(pid, "task", task, "stack")); err == nil {
		if fns := parseKernelStack(b); len(fns) > 0 {
			return fns
		}
	}
	b, err := readProc(procPath(pid, "task", task, "wchan"))
	if w := strings.TrimSpace(string(b)); err == nil && w != "" && w != "0" && len(w) < 256 {
		return []string{w}
	}
	return nil
}

// parseKernelStack takes the function names of /proc/PID/stack lines:
//
//	[<0>] futex_wait_restart+0x4f/0x90
func parseKernelStack(b []byte) []string {
	var out []string
	for line := range strings.Lines(string(b)) {
		if len(out) >= maxStackLines {
			break
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(f[1], "+")
		if name != "" && len(name) < 256 {
			out = append(out, name)
		}
	}
	return out
}
