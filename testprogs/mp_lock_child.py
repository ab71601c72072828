"""mp_lock_child: a forked child waits for a multiprocessing.Lock its parent holds, and the
parent will let it go.

The main thread takes `lock` (a multiprocessing.Lock) in a with block, forks a worker
process ("taker", fork start method) that takes the same lock in a with block of its own,
and sleeps inside its block: the taker waits in sem_wait() until the parent leaves it. The
taker's stack still shows the frames its parent was in when it forked, the with block of
`lock` among them: that block is the parent's, which the parent will end, not a hold of the
taker's.

With --bare the main thread takes `lock` with a bare acquire() and releases it after its
sleep: the taker's stack then stands, in its parent's frame, after that acquire(), and
that region too is the parent's, not a hold of the taker's.

A diagnosis of the parent should find nothing wrong (it sleeps, holding the lock). With
--subprocesses, the taker's report should find nothing wrong either: no deadlock of the
taker with itself; its wait is for a lock shared with other processes, which no thread of
its own holds (waiting_on.another_process).
"""

import ctypes
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

lock = multiprocessing.Lock()


def take():
    ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL: never outlive the test
    with lock:
        pass


def hold_and_fork(h):
    taker = multiprocessing.get_context("fork").Process(target=take, name="taker")
    taker.start()
    blocked = h.blocked({"MainThread": "main"})

    def ready(snapshot):
        watched = blocked(snapshot)
        _harness.child_in_futex(taker.pid, "taker")
        return watched

    h.watch(ready, expect=lambda snapshot: {"healthy": True, "taker": taker.pid})
    time.sleep(3600)  # BLOCK:main


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--bare", action="store_true", help="take the lock with a bare acquire()")
    h = _harness.Harness(p.parse_args())
    if h.args.bare:
        lock.acquire()
        hold_and_fork(h)
        lock.release()
    else:
        with lock:
            hold_and_fork(h)


if __name__ == "__main__":
    main()
