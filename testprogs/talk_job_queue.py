"""talk_job_queue: consumers starved by the `while not q.empty(): q.get()` race.

The main thread fills a queue.Queue with 25 jobs and starts 10 workers. They were meant to
be daemons, but the flag is misspelt (`t.deamon = True` only adds an attribute), so they
are not; each loops `while not jobs.empty(): job = jobs.get()`. Between a worker's empty()
and its get(), other workers take the last jobs, so workers block in get() on an empty
queue that nobody will ever fill again. (The pause between the two calls stands for the
logging a real worker does there; it makes the race bite on every run.) The main thread
joins the workers forever.

A diagnosis should find starved-consumers: the workers still alive all wait in
Queue.get() on `jobs`, which is empty, and no live thread can put to it (the main thread
waits in join). The ready file's expect.starved names the stuck workers of this run.
"""

import os
import queue
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

jobs = queue.Queue()
done = []


def work():
    while not jobs.empty():
        time.sleep(0.02)  # log "taking a job"
        job = jobs.get()  # BLOCK:get
        done.append(job * job)


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for job in range(25):
        jobs.put(job)
    workers = []
    for n in range(10):
        t = threading.Thread(target=work, name="worker-%d" % n)
        t.deamon = True  # the bug from the talk: not t.daemon
        workers.append(t)
        t.start()

    main_joining = h.blocked({"MainThread": "main"})

    def starved(snapshot):
        alive = [t for t in snapshot if (t["name"] or "").startswith("worker-")]
        if not alive:
            raise _harness.NotReady("no worker left (the race did not bite)")
        for t in alive:
            if not h.is_blocked_at(t, "get"):
                raise _harness.NotReady("%s still working (at %s)" % (t["name"], _harness.where(t)))
        return alive + main_joining(snapshot)

    h.watch(starved, expect=lambda snapshot: {
        "starved": sorted(t["name"] for t in snapshot if (t["name"] or "").startswith("worker-")),
        "queue": "jobs",
        "queue_length": jobs.qsize(),
    })
    for t in workers:
        t.join()  # BLOCK:main


if __name__ == "__main__":
    main()
