"""mp_event_child_deadlock: the main thread joins a child that waits for a
multiprocessing.Event the main thread sets only after the join.

The worker process ("waiter", fork start method, or spawn or forkserver with
--start-method) waits on `go`, a multiprocessing.Event, which nobody has set. The main
thread joins it first and would set `go` after: it waits in wait4 for the child to exit (a
poll of its sentinel, with a fork server), the child in sem_wait() on the semaphore that
the event's waiters park on, in shared memory both processes map. Neither moves.

A diagnosis of the live parent should find a deadlock between the process and its child:
the kernel shows the child's futex word, the semaphore of `go`'s waiters; `go` is not set
(its flag semaphore is 0); no other thread of the parent can run to set it; the child has
no other thread that could, and no other child of the parent is alive. From a core, which
records neither the child nor the semaphores' values, nothing may be claimed.

With --sibling (a negative control) a second child, "setter", sleeps an hour before it
sets `go`: it may yet set it, and nothing may be reported.
"""

import ctypes
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def wait(go):
    ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL: never outlive the test
    go.wait()


def set_later(go):
    ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)
    time.sleep(3600)
    go.set()


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--start-method", choices=["fork", "spawn", "forkserver"], default="fork")
    p.add_argument("--sibling", action="store_true", help="a second child sets the event, an hour later")
    h = _harness.Harness(p.parse_args())
    ctx = multiprocessing.get_context(h.args.start_method)
    go = ctx.Event()
    waiter = ctx.Process(target=wait, args=(go,), name="waiter")
    waiter.start()
    setter = None
    if h.args.sibling:
        setter = ctx.Process(target=set_later, args=(go,), name="setter")
        setter.start()
    blocked = h.blocked({"MainThread": "join"})

    def ready(snapshot):
        watched = blocked(snapshot)
        _harness.child_in_futex(waiter.pid, "waiter")
        if setter is not None:
            try:
                with open("/proc/%d/syscall" % setter.pid, encoding="ascii") as f:
                    nr = f.read().split()[0]
            except OSError as e:
                raise _harness.NotReady("setter: %s" % e)
            if nr not in _harness.SLEEP_SYSCALLS:
                raise _harness.NotReady("setter not asleep yet (syscall %s)" % nr)
        return watched

    if h.args.sibling:
        expect = {"healthy": True}
    else:
        expect = {"cycle_threads": ["MainThread"], "locks": ["go"], "child_lock": True, "live_only": True}
    h.watch(ready, expect=expect)
    waiter.join()  # BLOCK:join
    go.set()


if __name__ == "__main__":
    main()
