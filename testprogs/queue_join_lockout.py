"""queue_join_lockout: a thread waits in Queue.join() while it holds the lock the worker
takes before it can call task_done().

"boss" takes `ledger` (a Lock, with block), puts one job and waits in jobs.join(). The
"worker" thread has got the job from jobs.get() and takes `ledger` before it marks the job
done: it is blocked on the lock, so task_done() never runs and join() never returns. The
main thread sleeps in a loop.

A diagnosis should find a deadlock between boss and worker through `jobs` and `ledger`,
probable (basis feed-site: the worker's task_done()), a warning.
"""

import os
import queue
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

ledger = threading.Lock()
jobs = queue.Queue()


def work():
    while True:
        job = jobs.get()
        with ledger:  # BLOCK:worker
            print(job, file=sys.stderr)
        jobs.task_done()


def supervise():
    with ledger:
        jobs.put("close the books")
        jobs.join()  # BLOCK:boss


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for target, name in ((work, "worker"), (supervise, "boss")):
        threading.Thread(target=target, name=name, daemon=True).start()
    h.watch({"boss": "boss", "worker": "worker", "MainThread": "main"},
            expect={"cycle_threads": ["boss", "worker"], "locks": ["jobs", "ledger"],
                    "probable": True, "probable_basis": "feed-site", "severity": "warning"})
    while True:
        time.sleep(60)  # BLOCK:main


if __name__ == "__main__":
    main()
