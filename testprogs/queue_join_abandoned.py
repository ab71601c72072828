"""queue_join_abandoned: the main thread waits in join() for tasks no living thread will finish.

Two consumer threads take jobs from the queue `jobs` and call task_done() after each one.
A malformed job makes the parsing raise; the exception ends the consumer, and the
task_done() after the work never runs. Both consumers meet one, and die. The main thread
waits in jobs.join() for the unfinished tasks forever: nobody is left to mark them done.

A diagnosis should find an abandoned wait on `jobs`: MainThread waits in join() with
unfinished tasks, no thread left can end it, and the consumer threads have ended.
"""

import os
import queue
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

JOBS = ["17", "4", "oops", "8", "15", "n/a", "23", "42"]


def consume(jobs, results):
    while True:
        job = jobs.get()
        results.append(int(job))  # a malformed job raises here, and ends the thread
        jobs.task_done()


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.excepthook = lambda args: None  # the consumers' deaths are the point
    jobs, results = queue.Queue(), []
    for j in JOBS:
        jobs.put(j)
    consumers = [threading.Thread(target=consume, args=(jobs, results), name="consumer-%d" % i)
                 for i in range(2)]
    for c in consumers:
        c.start()
    for c in consumers:
        c.join()  # both die on a bad job; main then waits for the rest

    def expect(snapshot, jobs=jobs, consumers=consumers):
        return {"abandoned": "queue-join", "object": "jobs", "waiters": ["MainThread"],
                "unfinished": jobs.unfinished_tasks, "queued": jobs.qsize(),
                "ended": sorted(c.name for c in consumers)}

    h.watch({"MainThread": "join"}, expect=expect)
    jobs.join()  # BLOCK:join


if __name__ == "__main__":
    main()
