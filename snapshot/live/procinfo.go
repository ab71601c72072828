package live

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Info is what /proc says of a process as a whole: the facts a core file's
// NT_PRPSINFO and NT_AUXV record.
type Info struct {
	State           byte // state letter of the process (its main thread)
	PPID, PGRP, SID int
	Nice            int
	UID, GID        int    // real ids
	Name            string // comm
	Args            string // cmdline, arguments joined by spaces
	Auxv            []byte // /proc/PID/auxv
	Cwd             string // its working directory (/proc/PID/cwd), "" when unreadable
}

// maxCmdline bounds the command line read (a core keeps 80 bytes of it).
const maxCmdline = 4096

// ProcessInfo reads Info of pid. Nothing is stopped; the fields hardly change.
func ProcessInfo(pid int) (Info, error) {
	var in Info
	stat, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return in, fmt.Errorf("reading the state of pid %d: %w", pid, err)
	}
	if err := in.parseStat(stat); err != nil {
		return in, fmt.Errorf("%s: %w", procPath(pid, "stat"), err)
	}
	if v, err := statusField(pid, "Uid"); err == nil {
		in.UID, _ = strconv.Atoi(firstField(v))
	}
	if v, err := statusField(pid, "Gid"); err == nil {
		in.GID, _ = strconv.Atoi(firstField(v))
	}
	if b, err := readLimited(procPath(pid, "cmdline"), maxCmdline); err == nil {
		in.Args = string(bytes.TrimRight(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), " "))
	}
	if b, err := readLimited(procPath(pid, "auxv"), 64<<10); err == nil {
		in.Auxv = b
	}
	if d, err := os.Readlink(procPath(pid, "cwd")); err == nil {
		in.Cwd = d
	}
	return in, nil
}

// Ended says whether pid has ended: no process has it, or it is a zombie
// (or dead) waiting to be reaped. A look that failed because the process
// ended as it was read is no failure to report: its exit is.
func Ended(pid int) bool {
	if Exiting(pid) {
		return true
	}
	stat, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return true
	}
	var in Info
	if in.parseStat(stat) != nil {
		return false
	}
	return in.State == 'Z' || in.State == 'X'
}

// parseStat takes comm, state, ppid, pgrp, session and nice from a
// /proc/PID/stat line; comm is between the first '(' and the last ')'.
func (in *Info) parseStat(b []byte) error {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return fmt.Errorf("malformed stat line %q", truncate(b, 80))
	}
	in.Name = string(b[open+1 : end])
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state); nice is field 19.
	if len(f) < 17 || len(f[0]) != 1 {
		return fmt.Errorf("stat line has %d fields after the name", len(f))
	}
	in.State = f[0][0]
	in.PPID, _ = strconv.Atoi(f[1])
	in.PGRP, _ = strconv.Atoi(f[2])
	in.SID, _ = strconv.Atoi(f[3])
	in.Nice, _ = strconv.Atoi(f[16])
	return nil
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// readLimited reads at most limit bytes of a /proc file.
func readLimited(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, limit)
	n := 0
	for n < limit {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil || m == 0 {
			break
		}
	}
	return buf[:n], nil
}

// ThreadCPU is one thread's use of the CPU so far.
type ThreadCPU struct {
	// Time is the CPU time the thread has used, from schedstat (nanoseconds)
	// or, without it, from stat (clock ticks).
	Time time.Duration
	// Runs counts the times the thread was put on a CPU (schedstat; 0
	// without it): a thread woken and blocked again between two looks
	// shows here even when its CPU time barely moves.
	Runs uint64
}

// ThreadsCPU reads the CPU use of every thread of pid, without stopping it.
func ThreadsCPU(pid int) (map[int]ThreadCPU, error) {
	tids, err := listTasks(pid)
	if err != nil {
		return nil, err
	}
	out := make(map[int]ThreadCPU, len(tids))
	for _, tid := range tids {
		if c, ok := threadCPU(pid, tid); ok {
			out[tid] = c
		}
	}
	return out, nil
}

// clockTick is USER_HZ, the unit of the times in /proc/PID/stat (100 on
// every Linux architecture pyhang reads).
const clockTick = 10 * time.Millisecond

func threadCPU(pid, tid int) (ThreadCPU, bool) {
	dir := procPath(pid, "task", strconv.Itoa(tid))
	if b, err := os.ReadFile(dir + "/schedstat"); err == nil {
		// "cpu-ns wait-ns timeslices"
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			ns, err1 := strconv.ParseUint(f[0], 10, 64)
			runs, err2 := strconv.ParseUint(f[2], 10, 64)
			if err1 == nil && err2 == nil {
				return ThreadCPU{Time: time.Duration(ns), Runs: runs}, true
			}
		}
	}
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return ThreadCPU{}, false
	}
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return ThreadCPU{}, false
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 13 {
		return ThreadCPU{}, false
	}
	// utime and stime are fields 14 and 15 of the line (f[11], f[12]).
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return ThreadCPU{}, false
	}
	return ThreadCPU{Time: time.Duration(ut+st) * clockTick}, true
}

// Exiting says whether pid is tearing itself down: the kernel sets
// PF_EXITING (0x4) in its flags (field 9 of /proc/PID/stat) as it starts
// do_exit(), before its memory goes and well before it is a zombie. A
// read of its memory then fails with ESRCH.
func Exiting(pid int) bool {
	stat, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return false
	}
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return false
	}
	f := strings.Fields(string(stat[end+1:]))
	if len(f) < 7 {
		return false
	}
	flags, err := strconv.ParseUint(f[6], 10, 64)
	return err == nil && flags&pfExiting != 0
}

// pfExiting is PF_EXITING (include/linux/sched.h).
const pfExiting = 0x4
