"""healthy_mp_pool: a multiprocessing.Pool with one busy and one idle worker. Nothing is wrong.

The main thread waits for a job of a Pool of 2 worker processes (fork start method); one
worker runs it (a long computation, here a sleep), the other is idle, waiting for tasks.
The main thread has also put a line to a multiprocessing.Queue `log`: its feeder thread
("QueueFeederThread") waits, without a timeout, for the next one, as it always does. The
result will come: a diagnosis must report no finding (the job's task is with a living,
busy worker, not lost; the feeder's wait is its job).
"""

import multiprocessing
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def slow_job(seconds):
    time.sleep(seconds)
    return seconds


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with the pool's threads
    pool = multiprocessing.get_context("fork").Pool(2)
    result = pool.apply_async(slow_job, (3600,))
    log = multiprocessing.get_context("fork").Queue()
    log.put("job submitted")  # starts the queue's feeder thread, which then waits
    waiting = h.blocked({"MainThread": "get"})

    def ready(snapshot, pool=pool):
        calls = sorted(_harness.syscall_of(p.pid) or "?" for p in pool._pool)
        # One worker sleeps (clock_nanosleep 230, nanosleep 35; select 23 or pselect6 270
        # before 3.11), one is idle.
        if not any(c in ("230", "23", "35", "270") for c in calls):
            raise _harness.NotReady("no worker runs the job yet (%s)" % calls)
        return waiting(snapshot)

    h.watch(ready, expect={"healthy": True})
    print(result.get())  # BLOCK:get


if __name__ == "__main__":
    main()
