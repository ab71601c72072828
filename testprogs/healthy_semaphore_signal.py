"""healthy_semaphore_signal: consumers wait on a semaphore that a live producer releases.

`ready` is a Semaphore(0) used as a signal: "consumer-0" and "consumer-1" wait in a bare
acquire() for the next batch, and "producer" gives one with release() after each batch,
every hour (it sleeps in between). The semaphore has no unit and nobody holds one, but its
release() stands alone, in code that takes none first: the producer gives units without
holding any. A diagnosis must report no finding (an orphaned semaphore looks alike).
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def consume(ready):
    while True:
        ready.acquire()  # BLOCK:consume
        print("batch")


def produce(ready):
    while True:
        time.sleep(3600)  # BLOCK:produce
        ready.release()


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    ready = threading.Semaphore(0)
    for n in range(2):
        threading.Thread(target=consume, args=(ready,), name="consumer-%d" % n, daemon=True).start()
    threading.Thread(target=produce, args=(ready,), name="producer", daemon=True).start()
    h.watch({"consumer-0": "consume", "consumer-1": "consume", "producer": "produce", "MainThread": "main"},
            expect={"healthy": True})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
