"""mp_lock_child_deadlock: the main thread holds a multiprocessing.Lock while it joins a
child that waits for the same lock.

The main thread takes `held` (a multiprocessing.Lock) in a with block, starts a worker
process ("taker", fork start method, or spawn or forkserver with --start-method) that
takes `held` too, and joins it inside its block. The taker waits in sem_wait() on the
lock's semaphore, in shared memory both processes map: at the same address when forked,
elsewhere (and under another name of the same /dev/shm file) when spawned or forked by a
fork server, whose child it then is, not the main process's. The main thread waits in
wait4 for the taker to exit (a poll of its sentinel, with a fork server). Neither moves.

A diagnosis of the live parent should find a deadlock between the process and its child:
the kernel shows the child's futex word, the semaphore of `held`, which the main thread
holds in its with block. From a core, which does not record the child, no problem is
proven, and none may be claimed.

With --bare the main thread takes `held` with a bare acquire() and joins the taker before
its release(). No owner is recorded in a Lock's semaphore, so the hold is inferred from
where the main thread stands: the deadlock is then probable, and still an error (the
main thread is the one thread past an acquire() of the lock, and the lock is locked).
"""

import ctypes
import multiprocessing
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

held = None


def take(lock):
    ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL: never outlive the test
    with lock:
        pass


def main():
    global held
    p = _harness.parser(__doc__)
    p.add_argument("--start-method", choices=["fork", "spawn", "forkserver"], default="fork")
    p.add_argument("--bare", action="store_true", help="take the lock with a bare acquire()")
    h = _harness.Harness(p.parse_args())
    ctx = multiprocessing.get_context(h.args.start_method)
    held = ctx.Lock()
    if h.args.bare:
        held.acquire()
        try:
            join_taker(h, ctx)
        finally:
            held.release()
    else:
        with held:
            join_taker(h, ctx)


def join_taker(h, ctx):
    taker = ctx.Process(target=take, args=(held,), name="taker")
    taker.start()
    blocked = h.blocked({"MainThread": "join_taker"})

    def ready(snapshot):
        watched = blocked(snapshot)
        _harness.child_in_futex(taker.pid, "taker")
        return watched

    expect = {"cycle_threads": ["MainThread"], "locks": ["held"], "child_lock": True, "live_only": True}
    if h.args.bare:
        expect.update(probable=True, acquire_function="main")
    h.watch(ready, expect=expect)
    taker.join()  # BLOCK:join_taker


if __name__ == "__main__":
    main()
