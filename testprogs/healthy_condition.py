"""healthy_condition: a consumer waits on a Condition that a live producer notifies.

"consumer" sits in `orders.wait()` (no timeout) whenever the list is empty; "producer"
sleeps a second, appends an order and notifies, forever. The main thread sleeps. The wait
has no timeout, but a running thread signals it regularly: a diagnosis must report no
finding.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

orders = threading.Condition()
pending = []
handled = []


def consume():
    while True:
        with orders:
            while not pending:
                orders.wait()  # BLOCK:consume
            handled.append(pending.pop(0))


def produce():
    for n in range(1000000):
        time.sleep(1)  # BLOCK:produce
        with orders:
            pending.append(n)
            orders.notify()


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.Thread(target=consume, name="consumer", daemon=True).start()
    threading.Thread(target=produce, name="producer", daemon=True).start()
    h.watch({"consumer": "consume", "producer": "produce", "MainThread": "main"},
            expect={"healthy": True})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
