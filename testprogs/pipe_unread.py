"""pipe_unread: a program whose stdout is a pipe nobody reads.

The program makes its stdout a pipe whose read end only a child of its own holds, and the
child never reads it: it sleeps (or, with --stopped, stops itself with SIGSTOP, as a pager
left in the background would be). The program's three threads ("logger-0" ..
"logger-2") log to stdout through one logging handler. Once the pipe is full, one of them
is blocked writing, holding the handler's lock, and the two others wait for that lock.

A diagnosis should find stuck I/O (a warning): the writer blocked on a full pipe whose one
reader, the child, does not read it (in clock_nanosleep, or stopped), holding the
handler's lock, which the two other threads wait for. From a core, which shows no other
process, nothing is claimed.
"""

import ctypes
import logging
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def calls():
    """The system call of each thread of this process, by tid."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/syscall" % tid) as f:
                out[int(tid)] = f.read().split()[0]
        except (OSError, IndexError):
            pass
    return out


def unread_stdout(stopped):
    """Make fd 1 a pipe whose read end only a child that never reads it holds."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: go when the program does
        if stopped:
            os.kill(os.getpid(), signal.SIGSTOP)
        while True:
            time.sleep(3600)
    os.close(r)
    sys.stdout.flush()
    os.dup2(w, 1)
    os.close(w)
    return pid


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--stopped", action="store_true")
    h = _harness.Harness(p.parse_args())
    reader = unread_stdout(h.args.stopped)
    logging.basicConfig(stream=sys.stdout, format="%(threadName)s %(message)s", level=logging.INFO)

    def spam():
        for i in range(10 ** 9):
            logging.info("record %9d of the run", i)  # BLOCK:log

    loggers = [threading.Thread(target=spam, name="logger-%d" % n, daemon=True) for n in range(3)]
    for t in loggers:
        t.start()
    sleeping = h.blocked({"MainThread": "main"})

    def ready(snapshot):
        named = {t["name"]: t for t in snapshot}
        mine = [named.get(t.name) for t in loggers]
        if None in mine:
            raise _harness.NotReady("a logger is not in the snapshot")
        by_tid = calls()
        writing = [t for t in loggers if by_tid.get(t.native_id) == "1"]
        waiting = [t for t in loggers if by_tid.get(t.native_id) == "202"]
        if len(writing) != 1 or len(waiting) != 2:
            raise _harness.NotReady("not one logger writing and two waiting yet")
        return mine + sleeping(snapshot)

    h.watch(ready, expect={"stuck_pipe": [t.name for t in loggers], "lock_waiters": 2, "reader_pid": reader, "live_only": True,
                           "reader_state": "T" if h.args.stopped else "S"})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
