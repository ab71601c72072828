"""manager_lock_cycle: two threads deadlock through a context manager of the program's own.

class Account takes its lock with a bare acquire() in __enter__ and releases it in
__exit__. "transfer-in" enters `with savings:` then `with checking:`, "transfer-out" the
other way round; each waits in the other account's __enter__. No with statement names a
lock, and no thread stands between the acquire() and the release() in one function.

A diagnosis should find a deadlock of transfer-in and transfer-out, each lock held by the
thread inside the with block of the Account that keeps it (the manager on the frame's value
stack; Account.__enter__ acquires self._guard), and must not call either lock orphaned.
"""

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
checking = Account("checking")
both_in = threading.Barrier(2)


def transfer(first, second):
    with first:
        both_in.wait()
        with second:
            pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threads = [threading.Thread(target=transfer, args=(savings, checking), name="transfer-in"),
               threading.Thread(target=transfer, args=(checking, savings), name="transfer-out")]
    for t in threads:
        t.start()
    h.watch({"transfer-in": "enter", "transfer-out": "enter"},
            expect={"cycle_threads": ["transfer-in", "transfer-out"], "manager_locks": True})
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
