"""condition_lock_cycle: a lock-order inversion through a Condition's own lock.

"filler" holds the Lock `stock` and then enters `with orders:`, a Condition (over an
RLock, its default); "shipper" holds `orders` (with orders:) and wants `stock`. A barrier
makes sure each holds its first before reaching for the second. The main thread joins them.

A diagnosis should find a deadlock of filler and shipper through stock and the
Condition's lock, named after it (orders._lock), filler's wait placed at its own with
statement rather than inside Condition.__enter__.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

stock = threading.Lock()
orders = threading.Condition()
both_hold_one = threading.Barrier(2)


def fill():
    with stock:
        both_hold_one.wait()
        with orders:  # BLOCK:fill
            orders.notify()


def ship():
    with orders:
        both_hold_one.wait()
        with stock:  # BLOCK:ship
            pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threads = [threading.Thread(target=fill, name="filler"),
               threading.Thread(target=ship, name="shipper")]
    for t in threads:
        t.start()
    h.watch({"filler": "fill", "shipper": "ship", "MainThread": "main"},
            expect={"cycle_threads": ["filler", "shipper"], "locks": ["stock", "orders._lock"],
                    "wait_lines": {"filler": h.line("fill"), "shipper": h.line("ship")}})
    for t in threads:
        t.join()  # BLOCK:main


if __name__ == "__main__":
    main()
