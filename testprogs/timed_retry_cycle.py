"""timed_retry_cycle: a lock-order inversion whose waits have a timeout, retried in a loop
that keeps the first lock.

"debit" holds `accounts` (with block) and tries for `ledger` with acquire(timeout=0.5) in
a while loop until it gets it; "audit" does the same the other way round. A barrier makes
sure each holds its first lock before it tries for the other's. Each timeout only leads to
the next try, with the first lock still held: the timeouts never end the deadlock. The main
thread sleeps in a loop.

A diagnosis should find a deadlock between debit and audit through `accounts` and `ledger`,
a warning, with details.retries naming each thread's while loop and the with block it
stands in (the loop might still give up, which the source does not plainly show).
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

accounts = threading.Lock()
ledger = threading.Lock()
both_hold_one = threading.Barrier(2)


def take_in_turn(first, second):
    with first:
        both_hold_one.wait()
        while not second.acquire(timeout=0.5):  # BLOCK:retry
            pass
        second.release()


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for args, name in (((accounts, ledger), "debit"), ((ledger, accounts), "audit")):
        threading.Thread(target=take_in_turn, args=args, name=name, daemon=True).start()
    h.watch({"debit": "retry", "audit": "retry", "MainThread": "main"},
            expect={"cycle_threads": ["debit", "audit"], "locks": ["accounts", "ledger"],
                    "retry_line": h.line("retry"), "severity": "warning"})
    while True:
        time.sleep(60)  # BLOCK:main


if __name__ == "__main__":
    main()
