"""contextmanager_lock_cycle: a lock-order inversion through a @contextmanager wrapper that
takes its lock with acquire() and gives it back in a finally: block.

`held(lock)` is the usual hand-written helper: lock.acquire(), then `try: yield` and
`finally: lock.release()`. "exporter" holds `held(catalog)` and wants `held(archive)`;
"importer" holds `held(archive)` and wants `held(catalog)`. A barrier makes sure each holds
its first before it reaches for the other. The main thread sleeps in a loop.

While a thread is inside `with held(catalog):`, the generator of that manager is suspended
at its yield, after the acquire() and before the release(), and no thread's stack shows
it: the lock looks taken by nobody. A diagnosis should find a deadlock between exporter
and importer through `catalog` and `archive`, probable (the generator stands after a bare
acquire() in held()), an error: each lock has that one candidate holder. Never an
orphaned lock.
"""

import contextlib
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

catalog = threading.Lock()
archive = threading.Lock()
both_hold_one = threading.Barrier(2)


@contextlib.contextmanager
def held(lock):
    lock.acquire()  # BLOCK:held
    try:
        yield
    finally:
        lock.release()


def export():
    with held(catalog):
        both_hold_one.wait()
        with held(archive):
            pass


def import_():
    with held(archive):
        both_hold_one.wait()
        with held(catalog):
            pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for target, name in ((export, "exporter"), (import_, "importer")):
        threading.Thread(target=target, name=name, daemon=True).start()
    h.watch({"exporter": "held", "importer": "held", "MainThread": "main"},
            expect={"cycle_threads": ["exporter", "importer"], "locks": ["catalog", "archive"],
                    "probable": True, "acquire_function": "held"})
    while True:
        time.sleep(60)  # BLOCK:main


if __name__ == "__main__":
    main()
