"""mp_joinable_queue: a JoinableQueue's join() whose workers never call task_done().

The main thread starts 2 worker processes (fork start method, or spawn with
--start-method spawn) on a multiprocessing.JoinableQueue, puts 5 jobs and calls join().
Each worker takes jobs with get() and does the work, but never calls task_done(): once the
jobs are taken, both workers wait in get() for the next one, the queue is empty, and the
queue still counts 5 unfinished tasks. join() never returns.

A diagnosis of the live process should find an abandoned wait: MainThread waits in join()
on `jobs`, 5 tasks never marked done, both workers idle in get(). (From a core, which does
not show the children, nothing can be proven.)

--task-done: the workers call task_done(), but the last job hangs in its work (a sleep of
an hour): join() waits for a worker that is busy, which may yet finish. Nothing is
claimed.
"""

import multiprocessing
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

JOBS = 5


def worker(jobs, task_done):
    while True:
        n = jobs.get()
        if task_done and n == JOBS - 1:
            time.sleep(3600)  # the last job's work hangs
        if task_done:
            jobs.task_done()


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--start-method", choices=["fork", "spawn"], default="fork")
    p.add_argument("--task-done", action="store_true")
    h = _harness.Harness(p.parse_args())
    warnings.simplefilter("ignore", DeprecationWarning)  # forking with threads (3.12+)
    ctx = multiprocessing.get_context(h.args.start_method)
    jobs = ctx.JoinableQueue()
    workers = [ctx.Process(target=worker, args=(jobs, h.args.task_done), name="worker-%d" % i, daemon=True)
               for i in range(2)]
    for w in workers:
        w.start()
    for n in range(JOBS):
        jobs.put(n)
    waiting = h.blocked({"MainThread": "join"})

    def ready(snapshot):
        calls = [_harness.syscall_of(w.pid) for w in workers]
        if h.args.task_done:
            # one worker sleeps in the last job (a sleep's call differs by version), the
            # other is idle
            if sum(c not in ("0", "202") for c in calls) != 1:
                raise _harness.NotReady("no worker in the last job yet: %s" % calls)
        elif calls.count("0") != 1 or calls.count("202") != 1:
            # idle: one reads the queue's pipe (0), the other waits for its read lock (202)
            raise _harness.NotReady("workers not both idle yet: %s" % calls)
        return waiting(snapshot)

    expect = {"unfinished_join": "jobs", "unfinished": JOBS, "workers": sorted(w.pid for w in workers)}
    if h.args.task_done:
        expect = {"healthy": True}
    h.watch(ready, expect=expect)
    jobs.join()  # BLOCK:join


if __name__ == "__main__":
    main()
