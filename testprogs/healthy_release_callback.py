"""healthy_release_callback: submissions bounded by a Lock that a done-callback releases.

The main thread hands jobs to a ThreadPoolExecutor one at a time: before each submit() it
takes the Lock `gate` (and a unit of the Semaphore `slots`, two at a time) with a bare
acquire(), and the job's future gives them back from done-callbacks, lambdas that run on
the worker when the job ends. The first job is long ("worker_0" sleeps in it), so the main
thread waits in gate.acquire() for the second submit. The Lock is locked, held by no
thread's frame, but its release() is a callback's that whichever thread ends the job runs.
A diagnosis must report no finding (an orphaned lock looks alike).
"""

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

gate = threading.Lock()
slots = threading.Semaphore(2)


def job(n):
    time.sleep(3600)  # BLOCK:job
    return n


def submit(pool, n):
    slots.acquire()
    gate.acquire()  # BLOCK:submit
    fut = pool.submit(job, n)
    fut.add_done_callback(lambda f: gate.release())
    fut.add_done_callback(lambda f: slots.release())


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    pool = ThreadPoolExecutor(3, thread_name_prefix="worker")
    h.watch({"worker_0": "job", "MainThread": "submit"}, expect={"healthy": True})
    for n in range(3):
        submit(pool, n)


if __name__ == "__main__":
    main()
