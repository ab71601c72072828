"""account_transfer: the classic transfer between two accounts, each with its own lock, in
opposite directions at once.

transfer(src, dst) takes src.lock, then dst.lock (with blocks); "pay-bob" moves money from
`alice` to `bob` while "refund-alice" moves it from `bob` to `alice`. A barrier makes sure
each holds its source account's lock before it reaches for the other. The main thread sleeps
in a loop.

Both locks are Account.lock; only the accounts, module globals, tell them apart (alice.lock,
bob.lock). Both with statements of transfer() name an attribute `lock`: the hold is the
block of the first (`with src.lock:`), not the one the thread is entering. A diagnosis
should find a deadlock between the two threads through alice.lock and bob.lock, each hold
placed at the `with src.lock:` line.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

both_hold_one = threading.Barrier(2)


class Account:
    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance
        self.lock = threading.Lock()


def transfer(src, dst, amount):
    with src.lock:  # SITE:source
        both_hold_one.wait()
        with dst.lock:  # BLOCK:transfer
            src.balance -= amount
            dst.balance += amount


alice = Account("alice", 100)
bob = Account("bob", 100)


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for args, name in (((alice, bob, 10), "pay-bob"), ((bob, alice, 20), "refund-alice")):
        threading.Thread(target=transfer, args=args, name=name, daemon=True).start()
    h.watch({"pay-bob": "transfer", "refund-alice": "transfer", "MainThread": "main"},
            expect={"cycle_threads": ["pay-bob", "refund-alice"], "locks": ["alice.lock", "bob.lock"],
                    "hold_lines": {"pay-bob": h.line("source"), "refund-alice": h.line("source")}})
    while True:
        time.sleep(60)  # BLOCK:main


if __name__ == "__main__":
    main()
