package live

import (
	"os"
	"os/exec"
	"testing"
)

// TestPipeHeldElsewhere: a pipe's write end is found in a child that holds
// it, and in no other process once the child is gone.
func TestPipeHeldElsewhere(t *testing.T) {
	if ns, _ := os.Readlink("/proc/self/ns/pid"); ns != initPIDNamespace {
		t.Skipf("skipped: this test runs in pid namespace %q, not the machine's first, where no scan is whole", ns)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ino := pipeInode(os.Getpid(), int(r.Fd()))
	if ino == 0 {
		t.Fatal("no inode for the pipe's read end")
	}
	child := exec.Command("sleep", "60")
	child.ExtraFiles = []*os.File{w}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	heldElsewhere := func(pid int, inode uint64, write bool) (bool, bool) {
		held, complete := PipeEndsHeldElsewhere(pid, nil, []PipeEndRef{{Inode: inode, Write: write}})
		return held[0], complete
	}
	held, complete := heldElsewhere(os.Getpid(), ino, true)
	if !held || !complete {
		t.Errorf("write end held by child %d: got held %v, complete %v", child.Process.Pid, held, complete)
	}
	held, complete = heldElsewhere(os.Getpid(), ino, false)
	if held || !complete {
		t.Errorf("read end, held by this process only: got held %v, complete %v", held, complete)
	}
	child.Process.Kill()
	child.Wait()
	held, complete = heldElsewhere(os.Getpid(), ino, true)
	if held || !complete {
		t.Errorf("write end after the child ended: got held %v, complete %v", held, complete)
	}
}
