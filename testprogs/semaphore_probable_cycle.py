"""semaphore_probable_cycle: a Semaphore(1) used as a mutex and a Lock, taken in opposite
order by two threads.

"stocker" holds a unit of `slots` (threading.Semaphore(1), in a with block) and wants
`catalog`; "lister" holds `catalog` (with block) and wants a unit of `slots`. A barrier
makes sure each holds its first before it reaches for the other. The main thread sleeps in
a loop.

A Semaphore has no owner and, unlike a BoundedSemaphore, no count of its units: a thread
inside a with block of it holds one unit, but others may be held elsewhere or given back by
any thread. A diagnosis should find a deadlock between stocker and lister through slots and
catalog, marked probable, a warning: slots probably held by stocker's with block.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

slots = threading.Semaphore(1)
catalog = threading.Lock()
both_hold_one = threading.Barrier(2)


def stock():
    with slots:
        both_hold_one.wait()
        with catalog:  # BLOCK:stocker
            pass


def list_items():
    with catalog:
        both_hold_one.wait()
        with slots:  # BLOCK:lister
            pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for target, name in ((stock, "stocker"), (list_items, "lister")):
        threading.Thread(target=target, name=name, daemon=True).start()
    h.watch({"stocker": "stocker", "lister": "lister", "MainThread": "main"},
            expect={"cycle_threads": ["stocker", "lister"], "locks": ["slots", "catalog"],
                    "probable": True, "probable_basis": "with-block", "severity": "warning"})
    while True:
        time.sleep(60)  # BLOCK:main


if __name__ == "__main__":
    main()
