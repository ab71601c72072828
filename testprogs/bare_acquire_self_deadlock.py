"""bare_acquire_self_deadlock: a thread takes a Lock with acquire() and, before its release(),
calls a helper that takes the same Lock again.

"settle" takes `lock` with a bare acquire(), releasing it in a finally: block, and calls
post(), which takes `lock` with acquire() too: a Lock is not re-entrant, so settle waits
for itself. The main thread sleeps in a loop (not all threads are blocked). "joiner" joins
"napper", which sleeps in a loop: Thread.join() names the joined thread's _tstate_lock
(3.8-3.12) `lock` in a local of its own, the name of the program's lock.

No thread provably holds a Lock taken by a bare acquire(), but settle's own outer frame
stands between an acquire() of lock and its release(). A diagnosis should find a deadlock
of settle with itself, marked probable, lock probably held by settle, an error (one
candidate holder); not an orphaned lock, which would say no live thread holds it. settle
holds that one lock: napper's _tstate_lock, locked and known as `lock` too, is no lock the
program's acquire() calls take.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

lock = threading.Lock()


def post():
    lock.acquire()  # BLOCK:settle
    lock.release()


def settle():
    lock.acquire()
    try:
        post()
    finally:
        lock.release()


def nap():
    while True:
        time.sleep(60)  # BLOCK:napper


def join_napper():
    napper = threading.Thread(target=nap, name="napper", daemon=True)
    napper.start()
    napper.join()


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.Thread(target=settle, name="settle", daemon=True).start()
    threading.Thread(target=join_napper, name="joiner", daemon=True).start()
    h.watch({"settle": "settle", "napper": "napper", "MainThread": "main"},
            expect={"cycle_threads": ["settle"], "locks": ["lock"], "probable": True, "hold_count": {"settle": 1}})
    while True:
        time.sleep(60)  # BLOCK:main


if __name__ == "__main__":
    main()
