"""pipe_deadlock: a parent waits for its child, which waits for the parent to read a pipe.

The main thread runs a report generator as a child process with its stdout connected to a
pipe (subprocess.Popen(..., stdout=PIPE)) and calls wait() before reading the output. The
child writes more than a pipe holds (64 KiB), so once the pipe is full its write() blocks
until the parent reads; the parent, in wait(), waits for the child to exit: neither moves.

A diagnosis of the parent (the program's own pid) should find a deadlock across the two
processes: MainThread waits for the child, which is blocked writing its stdout, a pipe
whose read end only the parent holds; use communicate(). From a core, where the child's
state is not recorded, a possible pipe deadlock (a warning).

With --read-stdout the child writes a line to its stdout and then more than a pipe holds to
its stderr, and the parent, with both connected to pipes, reads the child's stdout to its
end before it reads stderr. The child blocks writing stderr, the parent reading stdout,
which the child holds open: neither moves. A diagnosis of the live parent should find the
deadlock across the two processes, the child blocked writing fd 2 and MainThread reading
the stdout pipe (read_fd), each pipe's other end held by no other process. From a core,
which shows neither the child nor who holds the pipes, nothing is claimed.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def in_waitpid(h, thread, marker):
    """The thread waits in Popen.wait() called on the marker's line: its innermost frame
    is subprocess's _try_wait, in os.waitpid() (which the harness does not know as a
    blocking call)."""
    own = h.own_frame(thread)
    inner = thread["frames"][0]
    return own is not None and own["line"] == h.line(marker) and inner["function"] == "_try_wait"

REPORT = "import sys\nfor i in range(100000):\n    sys.stdout.write('line %6d of the report\\n' % i)\n"
NOISY = ("import sys\nsys.stdout.write('started\\n')\nsys.stdout.flush()\n"
         "for i in range(100000):\n    sys.stderr.write('warning %6d of the run\\n' % i)\n")


def child_blocked(pid):
    """Whether the child is in write(2), as /proc/PID/syscall says."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            return f.read().split()[0] == "1"  # write(2)
    except (OSError, IndexError):
        return False


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--read-stdout", action="store_true", help="read stdout to its end while stderr fills")
    h = _harness.Harness(p.parse_args())
    if h.args.read_stdout:
        read_stdout(h)
        return
    proc = subprocess.Popen([sys.executable, "-c", REPORT], stdout=subprocess.PIPE)

    def ready(snapshot):
        main = [t for t in snapshot if t["main"]]
        if not main or not in_waitpid(h, main[0], "wait"):
            raise _harness.NotReady("main thread not in wait() yet")
        if not child_blocked(proc.pid):
            raise _harness.NotReady("child %d not blocked writing yet" % proc.pid)
        return main

    h.watch(ready, expect={"pipe_deadlock": "MainThread", "child_pid": proc.pid, "child_fd": 1,
                           "target_fd": proc.stdout.fileno(), "pipes": ["stdout"]})
    proc.wait()  # BLOCK:wait
    print(len(proc.stdout.read()))


def read_stdout(h):
    proc = subprocess.Popen([sys.executable, "-c", NOISY], stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def ready(snapshot):
        main = [t for t in snapshot if t["main"]]
        own = h.own_frame(main[0]) if main else None
        if own is None or own["line"] != h.line("read"):
            raise _harness.NotReady("main thread not reading stdout yet")
        if not child_blocked(proc.pid):
            raise _harness.NotReady("child %d not blocked writing yet" % proc.pid)
        return main

    h.watch(ready, expect={"pipe_deadlock": "MainThread", "child_pid": proc.pid, "child_fd": 2,
                           "target_fd": proc.stderr.fileno(), "read_fd": proc.stdout.fileno(),
                           "pipes": ["stdout", "stderr"]})
    out = proc.stdout.read()  # BLOCK:read
    print(len(out), len(proc.stderr.read()))


if __name__ == "__main__":
    main()
