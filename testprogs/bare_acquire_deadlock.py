"""bare_acquire_deadlock: a lock-order inversion between two threads that take their locks
with acquire() and release(), not with blocks.

"restock" takes `inventory` with acquire() and releases it in a finally: block, the usual
way without a with statement; "dispatch" takes `shipping` with acquire() and releases it
at the end of its work. A barrier makes sure each holds its first lock before it reaches
for the other's, so the cycle forms on every run. The main thread is not blocked: it sleeps
in a loop, as a server's main thread does, so the process as a whole is not all-blocked.

No thread provably holds a lock taken by a bare acquire() (a Lock has no owner), but each
of the two stands after an acquire() of its first lock and before the release() of it, and
is the only one that does. A diagnosis should find a deadlock, marked probable, between
restock and dispatch through `inventory` and `shipping`, each probably held by the other
thread, naming its acquire() (an error: one candidate holder for each lock).
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

inventory = threading.Lock()
shipping = threading.Lock()
both_hold_one = threading.Barrier(2)


def restock():
    inventory.acquire()
    try:
        both_hold_one.wait()
        shipping.acquire()  # BLOCK:restock
        shipping.release()
    finally:
        inventory.release()


def dispatch():
    shipping.acquire()
    both_hold_one.wait()
    inventory.acquire()  # BLOCK:dispatch
    inventory.release()
    shipping.release()


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for target, name in ((restock, "restock"), (dispatch, "dispatch")):
        threading.Thread(target=target, name=name, daemon=True).start()
    h.watch({"restock": "restock", "dispatch": "dispatch", "MainThread": "main"},
            expect={"cycle_threads": ["restock", "dispatch"], "locks": ["inventory", "shipping"],
                    "probable": True})
    while True:
        time.sleep(60)  # BLOCK:main


if __name__ == "__main__":
    main()
