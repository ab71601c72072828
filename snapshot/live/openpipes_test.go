package live

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

func TestFdinfoWritable(t *testing.T) {
	for info, want := range map[string]bool{
		"pos:\t0\nflags:\t01\nmnt_id:\t15\n":      true,
		"pos:\t0\nflags:\t02000002\nmnt_id:\t1\n": true,
		"pos:\t0\nflags:\t02000000\nmnt_id:\t1\n": false,
		"pos:\t0\n": false,
	} {
		if got := fdinfoWritable(info); got != want {
			t.Errorf("fdinfoWritable(%q) = %v, want %v", info, got, want)
		}
	}
}

// TestOpenPipes: a child started with a pipe on its stdin is among this
// process's children, and the pipe shows up in both: the child's read end,
// this process's write end, one inode.
func TestOpenPipes(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	defer w.Close()
	if kids := HostChildren(os.Getpid()); !slices.Contains(kids, cmd.Process.Pid) {
		t.Fatalf("HostChildren = %v; want it to hold %d", kids, cmd.Process.Pid)
	}
	mine, err := OpenPipes(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := OpenPipes(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	var stdin *PipeEnd
	for i := range theirs {
		if theirs[i].FD == 0 {
			stdin = &theirs[i]
		}
	}
	if stdin == nil || stdin.Write {
		t.Fatalf("the child's stdin is not the read end of a pipe: %+v", theirs)
	}
	found := false
	for _, e := range mine {
		found = found || (e.Inode == stdin.Inode && e.Write)
	}
	if !found {
		t.Errorf("this process holds no write end of the child's stdin pipe %d: %+v", stdin.Inode, mine)
	}
}
