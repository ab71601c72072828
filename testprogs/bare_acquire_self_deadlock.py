"""bare_acquire_self_deadlock: a thread takes a Lock with acquire() and, before its release(),
calls a helper that takes the same Lock again.

"settle" takes `ledger` with a bare acquire(), releasing it in a finally: block, and calls
post(), which takes `ledger` with acquire() too: a Lock is not re-entrant, so settle waits
for itself. The main thread sleeps in a loop (not all threads are blocked).

No thread provably holds a Lock taken by a bare acquire(), but settle's own outer frame
stands between an acquire() of ledger and its release(). A diagnosis should find a deadlock
of settle with itself, marked probable, ledger probably held by settle, an error (one
candidate holder); not an orphaned lock, which would say no live thread holds it.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

ledger = threading.Lock()


def post():
    ledger.acquire()  # BLOCK:settle
    ledger.release()


def settle():
    ledger.acquire()
    try:
        post()
    finally:
        ledger.release()


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.Thread(target=settle, name="settle", daemon=True).start()
    h.watch({"settle": "settle", "MainThread": "main"},
            expect={"cycle_threads": ["settle"], "locks": ["ledger"], "probable": True})
    while True:
        time.sleep(60)  # BLOCK:main


if __name__ == "__main__":
    main()
