"""starved_with_handler: consumers starve in a program whose signal handler feeds nothing.

Two "worker" threads wait in get() on the queue `jobs`, whose producer failed before it put
anything; the main thread joins the workers. The program installs a SIGTERM handler, as
servers do, that only sets the Event `stopping`; the one put() to `jobs` in the source
stands in refill(), which nothing calls. A handler runs on the main thread and could feed
the queue only if it called that code: this one does not.

A diagnosis should find the workers starved, an error, as if no handler were installed:
the handler's own code holds no put() to the queue.
"""

import os
import queue
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

jobs = queue.Queue()
stopping = threading.Event()


def on_term(signum, frame):
    stopping.set()


def refill():
    jobs.put("job")


def work():
    jobs.get()  # BLOCK:get


def produce():
    raise RuntimeError("the producer fails before it puts a job")


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    signal.signal(signal.SIGTERM, on_term)
    workers = [threading.Thread(target=work, name="worker-%d" % i) for i in range(2)]
    for w in workers:
        w.start()
    producer = threading.Thread(target=produce, name="producer")
    producer.start()
    producer.join()
    h.watch({"worker-0": "get", "worker-1": "get", "MainThread": "main"},
            expect={"starved": ["worker-0", "worker-1"], "queue": "jobs", "blocked_others": ["MainThread"]})
    for w in workers:
        w.join()  # BLOCK:main


if __name__ == "__main__":
    main()
