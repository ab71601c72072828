"""semaphore_knot: a BoundedSemaphore of two units, both held by threads that wait for a
Lock whose holder waits for the semaphore.

"clerk-1" and "clerk-2" each hold a unit of `counters` (BoundedSemaphore(2), with block) and
want `books` (a Lock); "auditor" holds `books` (with block) and wants a unit of `counters`.
A barrier makes sure all three hold theirs first. The main thread sleeps in a loop.

A wait for a semaphore ends when any holder gives a unit back, so neither two-thread cycle
is a deadlock by itself. But both units are taken, and both clerks stand in a with block of
the semaphore: they hold one unit each, and both are in a cycle with the auditor. A
diagnosis should find one deadlock, an error, through `counters` and `books`, of all three
threads.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

counters = threading.BoundedSemaphore(2)
books = threading.Lock()
all_hold_one = threading.Barrier(3)


def serve():
    with counters:
        all_hold_one.wait()
        with books:  # BLOCK:clerk
            pass


def audit():
    with books:
        all_hold_one.wait()
        with counters:  # BLOCK:auditor
            pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for target, name in ((serve, "clerk-1"), (serve, "clerk-2"), (audit, "auditor")):
        threading.Thread(target=target, name=name, daemon=True).start()
    h.watch({"clerk-1": "clerk", "clerk-2": "clerk", "auditor": "auditor", "MainThread": "main"},
            expect={"cycle_threads": ["clerk-1", "clerk-2", "auditor"], "locks": ["counters", "books"]})
    while True:
        time.sleep(60)  # BLOCK:main


if __name__ == "__main__":
    main()
