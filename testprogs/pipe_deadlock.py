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

With --stdin-open the parent writes the child's input to its stdin pipe, never closes it,
and reads the child's stdout to its end; the child reads its stdin to EOF first. The child
waits to read fd 0, whose write end only the parent holds, and the parent reads the stdout
pipe, which only the child writes: neither moves (live: read_fd, the child in read on fd
0).

A diagnosis of the live child finds the same deadlock from its side: its MainThread blocked
writing its stdout, a full pipe only its parent reads, while every thread of the parent
waits for it to exit (wait4). With --child-logs the child's three threads log to its
stdout through one logging handler, and its main thread joins them: one thread is blocked
writing, holding the handler's lock, which the two others wait for; the child's diagnosis
names that writer and the lock it holds.

With --both-full the parent writes more than a pipe holds to the child's stdin before it
reads the child's stdout; the child echoes each line to its stdout as it reads. Once the
stdout pipe is full the child blocks writing it, and the parent blocks writing the full
stdin pipe: neither moves (live: write_fd).
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
SLURP = "import sys\nlines = sys.stdin.read().splitlines()\nprint(len(lines))\n"
ECHO = "import sys\nfor line in sys.stdin:\n    sys.stdout.write(line.upper())\n"
LOGGER = ("import logging, sys, threading\n"
          "logging.basicConfig(stream=sys.stdout, format='%(threadName)s %(message)s', level=logging.INFO)\n"
          "def spam(n):\n    for i in range(100000):\n        logging.info('record %6d of the run', i)\n"
          "workers = [threading.Thread(target=spam, args=(n,), name='logger-%d' % n) for n in range(3)]\n"
          "for w in workers:\n    w.start()\nfor w in workers:\n    w.join()\n")
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
    p.add_argument("--stdin-open", action="store_true", help="read stdout while the child waits for stdin to end")
    p.add_argument("--both-full", action="store_true", help="write a full stdin while the child fills stdout")
    p.add_argument("--child-logs", action="store_true", help="the child's threads log to its stdout")
    h = _harness.Harness(p.parse_args())
    if h.args.read_stdout:
        read_stdout(h)
        return
    if h.args.stdin_open or h.args.both_full:
        feed_stdin(h)
        return
    logs = h.args.child_logs
    proc = subprocess.Popen([sys.executable, "-c", LOGGER if logs else REPORT], stdout=subprocess.PIPE)

    def ready(snapshot):
        main = [t for t in snapshot if t["main"]]
        if not main or not in_waitpid(h, main[0], "wait"):
            raise _harness.NotReady("main thread not in wait() yet")
        if not (any_writing(proc.pid) if logs else child_blocked(proc.pid)):
            raise _harness.NotReady("child %d not blocked writing yet" % proc.pid)
        return main

    child_side = {"writer": "MainThread"}
    if logs:
        child_side = {"writer_prefix": "logger-", "holds": "StreamHandler.lock", "lock_waiters": 2}
    h.watch(ready, expect={"pipe_deadlock": "MainThread", "child_pid": proc.pid, "child_fd": 1,
                           "target_fd": proc.stdout.fileno(), "pipes": ["stdout"], "child_side": child_side})
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


def any_writing(pid):
    """Whether a thread of the child is in write(2) and every other one in a futex wait,
    as /proc/PID/task/*/syscall say."""
    try:
        calls = []
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/syscall" % (pid, tid)) as f:
                calls.append(f.read().split()[0])
    except (OSError, IndexError):
        return False
    return calls.count("1") == 1 and calls.count("202") == len(calls) - 1


def child_in(pid, number):
    """Whether the child is in system call number, as /proc/PID/syscall says."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            return f.read().split()[0] == str(number)
    except (OSError, IndexError):
        return False


def feed_stdin(h):
    stdin_open = h.args.stdin_open
    proc = subprocess.Popen([sys.executable, "-c", SLURP if stdin_open else ECHO],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    marker = "read_output" if stdin_open else "write_input"

    def ready(snapshot):
        main = [t for t in snapshot if t["main"]]
        own = h.own_frame(main[0]) if main else None
        if own is None or own["line"] != h.line(marker):
            raise _harness.NotReady("main thread not at %s yet" % marker)
        if not child_in(proc.pid, 0 if stdin_open else 1):
            raise _harness.NotReady("child %d not blocked yet" % proc.pid)
        return main

    expect = {"pipe_deadlock": "MainThread", "child_pid": proc.pid, "child_fd": 0 if stdin_open else 1,
              "child_syscall": "read" if stdin_open else "write", "pipes": ["stdin", "stdout"]}
    if stdin_open:
        expect.update(target_fd=proc.stdin.fileno(), read_fd=proc.stdout.fileno())
        h.watch(ready, expect=expect)
        proc.stdin.write(b"one record\n" * 100)
        proc.stdin.flush()
        out = proc.stdout.read()  # BLOCK:read_output
    else:
        expect.update(target_fd=proc.stdout.fileno(), write_fd=proc.stdin.fileno())
        h.watch(ready, expect=expect)
        proc.stdin.write(b"some line of text\n" * 100000)  # BLOCK:write_input
        proc.stdin.close()
        out = proc.stdout.read()
    print(len(out))


if __name__ == "__main__":
    main()
