"""timed_waits: one thread in each kind of wait with a timeout, the locks held by main.

"lock-waiter" waits in lock.acquire(timeout=3600) and "rlock-waiter" in
rlock.acquire(timeout=3600), both held by the main thread in a `with` block;
"condition-waiter" in Condition.wait(3600), "event-waiter" in Event.wait(3600),
"queue-waiter" in Queue.get(timeout=3600), "sleeper" in time.sleep(3600) and "poller" in
poll() on a pipe with a one-hour timeout. The main thread sleeps inside `with lock, rlock`.

Stopping a thread in a timed wait (as a live dump does) makes the kernel resume the wait
through restart_syscall: a second look must still see each thread's wait, what it waits
on, that it is timed, and who holds it, exactly as the first look did. Nothing here is a
problem: every wait ends by itself.
"""

import os
import queue
import select
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

HOUR = 3600

lock = threading.Lock()
rlock = threading.RLock()
cond = threading.Condition()
event = threading.Event()
jobs = queue.Queue()
pipe_r, pipe_w = os.pipe()


def wait_lock():
    lock.acquire(timeout=HOUR)  # BLOCK:lock


def wait_rlock():
    rlock.acquire(timeout=HOUR)  # BLOCK:rlock


def wait_condition():
    with cond:
        cond.wait(HOUR)  # BLOCK:condition


def wait_event():
    event.wait(HOUR)  # BLOCK:event


def wait_queue():
    jobs.get(timeout=HOUR)  # BLOCK:queue


def sleep():
    time.sleep(HOUR)  # BLOCK:sleep


def poll_pipe():
    p = select.poll()
    p.register(pipe_r, select.POLLIN)
    p.poll(HOUR * 1000)  # BLOCK:poll


WAITERS = [("lock-waiter", wait_lock, "lock"), ("rlock-waiter", wait_rlock, "rlock"),
           ("condition-waiter", wait_condition, "condition"), ("event-waiter", wait_event, "event"),
           ("queue-waiter", wait_queue, "queue"), ("sleeper", sleep, "sleep"), ("poller", poll_pipe, "poll")]


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    with lock, rlock:
        for name, fn, _ in WAITERS:
            threading.Thread(target=fn, name=name, daemon=True).start()
        spec = {name: marker for name, _, marker in WAITERS}
        spec["MainThread"] = "main"
        h.watch(spec, expect={
            "healthy": True,
            "timed": {name: marker for name, _, marker in WAITERS},
        })
        time.sleep(HOUR)  # BLOCK:main


if __name__ == "__main__":
    main()
