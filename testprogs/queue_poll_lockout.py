"""queue_poll_lockout: a consumer polls a queue with a timeout, in a loop, while it holds the
lock its producer takes before it puts.

"consumer" takes `journal` (a Lock, with block) and then loops on jobs.get(timeout=0.5),
going round again on queue.Empty. "producer" takes `journal` before jobs.put(): it is
blocked on the lock, and the consumer keeps the lock through every timeout. The main thread
sleeps in a loop.

The timeout does not end anything here: the loop makes the wait again with the lock still
held. A diagnosis should find a deadlock between consumer and producer through `jobs` and
`journal`, probable (basis feed-site: the producer's put()), a warning, with
details.retries naming the consumer's while loop.
"""

import os
import queue
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

journal = threading.Lock()
jobs = queue.Queue()
polling = threading.Event()


def consume():
    with journal:
        polling.set()
        while True:  # SITE:poll
            try:
                return jobs.get(timeout=0.5)  # BLOCK:consumer
            except queue.Empty:
                continue


def produce():
    polling.wait()
    with journal:  # BLOCK:producer
        jobs.put("entry")


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for target, name in ((consume, "consumer"), (produce, "producer")):
        threading.Thread(target=target, name=name, daemon=True).start()
    h.watch({"consumer": "consumer", "producer": "producer", "MainThread": "main"},
            expect={"cycle_threads": ["consumer", "producer"], "locks": ["jobs", "journal"],
                    "probable": True, "probable_basis": "feed-site", "severity": "warning",
                    "retry_line": h.line("poll")})
    while True:
        time.sleep(60)  # BLOCK:main


if __name__ == "__main__":
    main()
