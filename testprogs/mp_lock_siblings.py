"""mp_lock_siblings: two worker processes take two multiprocessing locks in opposite order.

The main thread starts two worker processes (fork start method), "first" and "second", and
joins them. first takes `a` then `b`, second takes `b` then `a`, each in with blocks, and a
multiprocessing.Barrier makes sure each holds its first lock before it reaches for the
other's. The locks are semaphores in shared memory: each worker waits in sem_wait() for a
lock the other process holds.

No one process shows the cycle: each worker holds one lock and waits for one that no thread
of its own holds. A diagnosis with --subprocesses should find a deadlock across the two
workers' processes through `a` and `b` (shared_lock_deadlocks), and exit 3.
"""

import ctypes
import multiprocessing
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def work(first, second, both_hold_one):
    ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL: never outlive the test
    with first:
        both_hold_one.wait()
        with second:
            pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    ctx = multiprocessing.get_context("fork")
    a, b, both_hold_one = ctx.Lock(), ctx.Lock(), ctx.Barrier(2)
    workers = [ctx.Process(target=work, args=(a, b, both_hold_one), name="first"),
               ctx.Process(target=work, args=(b, a, both_hold_one), name="second")]
    for p in workers:
        p.start()
    blocked = h.blocked({"MainThread": "main"})

    def ready(snapshot):
        watched = blocked(snapshot)
        for p in workers:
            _harness.child_in_futex(p.pid, p.name)
        return watched

    h.watch(ready, expect=lambda snapshot: {"workers": [p.pid for p in workers]})
    for p in workers:
        p.join()  # BLOCK:main


if __name__ == "__main__":
    main()
