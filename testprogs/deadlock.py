"""deadlock: the classic lock-order inversion between two threads.

"posting" holds `ledger` and wants `audit_log`; "audit" holds `audit_log` and wants
`ledger`. Both take their locks in `with` blocks; a barrier makes sure each holds its first
lock before reaching for the second, so the cycle forms on every run. The main thread joins
them forever.

A diagnosis should find a deadlock: posting -> audit_log (held by audit) -> ledger (held by
posting), with both holds proven by the `with` blocks, and the main thread waiting on
posting by join.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

ledger = threading.Lock()
audit_log = threading.Lock()
both_hold_one = threading.Barrier(2)


def post_entry():
    with ledger:
        both_hold_one.wait()
        with audit_log:  # BLOCK:posting
            pass


def audit_entries():
    with audit_log:
        both_hold_one.wait()
        with ledger:  # BLOCK:audit
            pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threads = [threading.Thread(target=post_entry, name="posting"),
               threading.Thread(target=audit_entries, name="audit")]
    for t in threads:
        t.start()
    h.watch({"posting": "posting", "audit": "audit", "MainThread": "main"},
            expect={"cycle_threads": ["posting", "audit"], "locks": ["ledger", "audit_log"]})
    for t in threads:
        t.join()  # BLOCK:main


if __name__ == "__main__":
    main()
