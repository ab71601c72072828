"""manager_lock_cycle: two threads deadlock through context managers of the program's own.

class Account takes its lock with a bare acquire() in __enter__ and releases it in
__exit__; posting() is a @contextmanager whose generator holds the lock "ledger" in a
with block while it is suspended at its yield. "transfer-in" enters `with savings:` and
then `with posting():`, "transfer-out" the other way round: each waits for the lock the
other holds, one in Account.__enter__, one in posting()'s with statement. No with statement
of theirs names a lock.

A diagnosis should find a deadlock of transfer-in and transfer-out: savings's lock held by
transfer-in inside the with block of the Account that keeps it (Account.__enter__ acquires
self._guard), ledger held by transfer-out inside the with block of posting(), whose
generator is suspended inside `with ledger:`; and must call neither lock orphaned.
"""

import contextlib
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


class Account:
    def __init__(self, name):
        self.name = name
        self._guard = threading.Lock()

    def __enter__(self):
        self._guard.acquire()  # BLOCK:enter
        return self

    def __exit__(self, *exc):
        self._guard.release()


savings = Account("savings")
ledger = threading.Lock()
both_in = threading.Barrier(2)


@contextlib.contextmanager
def posting():
    with ledger:  # BLOCK:posting
        yield


def transfer_in():
    with savings:
        both_in.wait()
        with posting():
            pass


def transfer_out():
    with posting():
        both_in.wait()
        with savings:
            pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threads = [threading.Thread(target=transfer_in, name="transfer-in"),
               threading.Thread(target=transfer_out, name="transfer-out")]
    for t in threads:
        t.start()
    h.watch({"transfer-in": "posting", "transfer-out": "enter"},
            expect={"cycle_threads": ["transfer-in", "transfer-out"],
                    "manager_bases": ["with-block enter-acquire", "with-block generator-with"]})
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
