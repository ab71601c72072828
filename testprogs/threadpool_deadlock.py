"""threadpool_deadlock: tasks of a multiprocessing ThreadPool that apply() more work to their
own, full pool.

A multiprocessing.pool.ThreadPool of 2 worker threads (as multiprocessing.dummy.Pool
makes) builds reports. Each report task names its worker thread ("builder-0",
"builder-1"), then calls pool.apply() for its summary on the same pool and waits for it.
Both workers are busy with reports, so the two summary tasks wait in the pool's queue for a
free worker that never comes. The main thread waits for the first report.

A diagnosis should find a deadlock of the pool's 2 workers: each waits for a result of its
own pool, which has no free worker (processes=2, both taken).
"""

import itertools
import os
import sys
import threading
from multiprocessing.pool import ThreadPool

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

WORKERS = 2
pool = ThreadPool(WORKERS)
both_started = threading.Barrier(WORKERS)
numbers = itertools.count()


def summarize(n):
    return "report %d: fine" % n


def build_report(n):
    threading.current_thread().name = "builder-%d" % next(numbers)
    both_started.wait()  # both workers take a report before any summary is queued
    return pool.apply(summarize, (n,)) + "..."  # BLOCK:report


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    reports = [pool.apply_async(build_report, (n,)) for n in range(WORKERS)]
    workers = ["builder-%d" % i for i in range(WORKERS)]
    spec = {w: "report" for w in workers}
    spec["MainThread"] = "main"
    h.watch(spec, expect={"pool_deadlock": workers, "max_workers": WORKERS, "queued": WORKERS})
    reports[0].get()  # BLOCK:main


if __name__ == "__main__":
    main()
