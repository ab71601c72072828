"""flock_child_deadlock: the main thread holds an flock() on a file while it waits for a
child process that locks the same file.

The main thread opens a lock file (beside its ready file, which the test cleans up) and takes
fcntl.flock(LOCK_EX) on it, as a program guarding a resource across its processes does. It
starts a child with subprocess that takes the same lock, then waits for the child with
Popen.wait(). The child sits in flock() until the lock is released; the parent sits in
wait4 until the child exits. Neither moves, and no other thread of the parent exists to
unlock the file.

A file lock belongs to the process (its open file), not to a thread. A diagnosis of the
live parent should find a deadlock between the process and its child: the kernel shows the
child in flock() on the file, and /proc/locks shows the parent holding a lock on it, through
its own descriptor. From a core, which records neither, no problem is proven, and none may
be claimed.
"""

import fcntl
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

CHILD = """
import ctypes, fcntl, sys
ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL: never outlive the test
with open(sys.argv[1], "w") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
"""


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    path = os.path.join(os.path.dirname(os.path.abspath(h.args.ready)), "resource.lock")
    with open(path, "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        child = subprocess.Popen([sys.executable, "-c", CHILD, path])
        blocked = h.blocked({"MainThread": "main"})

        def ready(snapshot):
            watched = blocked(snapshot)
            _harness.child_in_syscall(child.pid, "child", 73, "flock")
            return watched

        h.watch(ready, expect={"cycle_threads": ["MainThread"], "child_lock": True, "live_only": True})
        child.wait()  # BLOCK:main


if __name__ == "__main__":
    main()
