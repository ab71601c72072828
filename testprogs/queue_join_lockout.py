"""queue_join_lockout: a thread waits in Queue.join() while it holds the lock the worker
takes before it can call task_done().

"boss" takes `ledger` (a Lock, with block), puts one job and waits in jobs.join(). The
"worker" thread has got the job from jobs.get() and takes `ledger` before it marks the job
done: it is blocked on the lock, so task_done() never runs and join() never returns. The
main thread joins the boss.

A diagnosis should find an abandoned wait in join(), an error (every other thread waits
forever), with the lockout: the boss's task_done() would come from the worker
(`lockouts`), which waits for `ledger`.
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
    threading.Thread(target=work, name="worker", daemon=True).start()
    boss = threading.Thread(target=supervise, name="boss", daemon=True)
    boss.start()
    h.watch({"boss": "boss", "worker": "worker", "MainThread": "main"},
            expect={"lockout": {"kind": "abandoned-wait", "waiter": "boss", "feeder": "worker",
                                "severity": "error"}})
    boss.join()  # BLOCK:main


if __name__ == "__main__":
    main()
