"""producer_loop_lockout: a producer whose put() comes round again in its while loop is
locked out by the consumer, which waits for the queue while it holds the producer's lock.

"producer" loops: it takes `ledger` (a Lock, with block) to record a batch, then puts the
batch to `batches`. "consumer" takes `ledger` and, inside its with block, waits in
batches.get(). The producer is blocked at its `with ledger:`, after its put() of the last
turn and before the next one: its stack runs put() again as the loop goes round, but never
will. The main thread runs a supervisor's loop that sleeps and counts its turns: it runs
code of its own, and could, in principle, put to `batches` itself, so the consumer is not
proven starved.

A diagnosis should find a deadlock between consumer and producer through `batches` and
`ledger`, probable (basis feed-site: the put() the producer's while loop comes back to), a
warning.
"""

import os
import queue
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

ledger = threading.Lock()
batches = queue.Queue()
consumer_holds_ledger = threading.Event()


def produce():
    turn = 0
    while True:
        if turn:
            batches.put(turn)
        turn += 1
        consumer_holds_ledger.wait()
        with ledger:  # BLOCK:producer
            print("recorded batch", turn, file=sys.stderr)


def consume():
    with ledger:
        consumer_holds_ledger.set()
        return batches.get()  # BLOCK:consumer


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for target, name in ((consume, "consumer"), (produce, "producer")):
        threading.Thread(target=target, name=name, daemon=True).start()
    h.watch({"consumer": "consumer", "producer": "producer", "MainThread": "main"},
            expect={"cycle_threads": ["consumer", "producer"], "locks": ["batches", "ledger"],
                    "probable": True, "probable_basis": "feed-site", "severity": "warning"})
    turns = 0
    while True:
        time.sleep(60)  # BLOCK:main
        turns += 1


if __name__ == "__main__":
    main()
