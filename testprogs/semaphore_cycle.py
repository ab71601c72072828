"""semaphore_cycle: a lock-order inversion through a BoundedSemaphore of one unit.

"loader" takes the only unit of `slots`, a BoundedSemaphore(1) used as a mutex, in a with
block and then wants the Lock `catalog`; "indexer" holds `catalog` and wants a unit of
`slots`. A barrier makes sure each holds its first before reaching for the second. The
main thread joins them.

A diagnosis should find a deadlock of loader and indexer through catalog and slots: a
semaphore whose one unit the thread in its with block holds is held as a lock is.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

slots = threading.BoundedSemaphore(1)
catalog = threading.Lock()
both_hold_one = threading.Barrier(2)


def load():
    with slots:
        both_hold_one.wait()
        with catalog:  # BLOCK:load
            pass


def index():
    with catalog:
        both_hold_one.wait()
        with slots:  # BLOCK:index
            pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threads = [threading.Thread(target=load, name="loader"),
               threading.Thread(target=index, name="indexer")]
    for t in threads:
        t.start()
    h.watch({"loader": "load", "indexer": "index", "MainThread": "main"},
            expect={"cycle_threads": ["loader", "indexer"], "locks": ["slots", "catalog"],
                    "wait_lines": {"loader": h.line("load"), "indexer": h.line("index")}})
    for t in threads:
        t.join()  # BLOCK:main


if __name__ == "__main__":
    main()
