"""future_lock_cycle: a thread waits for a future whose work item waits for the thread's lock.

The main thread holds the lock "ledger" in a with block, submits a work item that takes the
same lock to a ThreadPoolExecutor of one worker ("books_0"), and waits for its result. The
worker runs the work item and waits for the lock. Neither can go on.

A diagnosis should find a deadlock of the main thread and books_0: the main thread waits for
the future, which only books_0 can end, as it runs that work item; books_0 waits for ledger,
held by the main thread's with block.
"""

import concurrent.futures
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

ledger = threading.Lock()
pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="books")


def post_entry():
    with ledger:  # BLOCK:entry
        return "posted"


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    with ledger:
        entry = pool.submit(post_entry)
        h.watch({"books_0": "entry", "MainThread": "result"},
                expect={"cycle_threads": ["MainThread", "books_0"], "locks": ["ledger"],
                        "future_runner": "books_0", "future_waiter": "MainThread"})
        entry.result()  # BLOCK:result


if __name__ == "__main__":
    main()
