"""all_blocked: every thread, the main one included, waits for another blocked thread.

"consumer" holds `stock_lock` (a `with` block) while it waits in `jobs.get()` on an empty
queue. The only thread that would put a job, "producer", first needs `stock_lock`.
"notifier" waits for the Event `first_job`, which only the consumer would set after its
first job. The main thread joins the consumer. Nothing outside the process is involved, no
wait has a timeout, and no thread is running: the process can never make progress.

A diagnosis should find all-blocked (and the consumer starved: the queue's only producer is
itself blocked on a lock the consumer holds).
"""

import os
import queue
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

stock_lock = threading.Lock()
jobs = queue.Queue()
first_job = threading.Event()
consumer_holds_lock = threading.Event()


def consume():
    with stock_lock:
        consumer_holds_lock.set()
        job = jobs.get()  # BLOCK:consumer
        first_job.set()
        print("got", job)


def produce():
    with stock_lock:  # BLOCK:producer
        jobs.put("restock")


def notify():
    first_job.wait()  # BLOCK:notifier
    print("first job arrived")


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    consumer = threading.Thread(target=consume, name="consumer")
    consumer.start()
    consumer_holds_lock.wait()
    threading.Thread(target=produce, name="producer").start()
    threading.Thread(target=notify, name="notifier").start()
    h.watch({"consumer": "consumer", "producer": "producer", "notifier": "notifier",
             "MainThread": "main"},
            expect={"all_blocked": True,
                    "threads": ["MainThread", "consumer", "producer", "notifier"],
                    "starved": ["consumer"], "queue": "jobs", "lock": "stock_lock"})
    consumer.join()  # BLOCK:main


if __name__ == "__main__":
    main()
