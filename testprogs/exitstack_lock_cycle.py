"""exitstack_lock_cycle: two threads take the same two locks through an ExitStack, in opposite order.

Each thread enters `with contextlib.ExitStack() as stack:` and takes its locks with
stack.enter_context(): "batch-a" takes the Lock `accounts`, then the RLock `ledger`;
"batch-b" takes `ledger`, then `accounts`. A Barrier makes sure each holds its first lock
before it reaches for the second. No with statement of theirs names a lock: the ExitStack
keeps each lock's __exit__ until its own with block ends.

A diagnosis should find a deadlock of batch-a and batch-b: each lock held by the other
thread inside the with block of the ExitStack that entered it (the RLock's owner field
agreeing); and must call neither lock orphaned.
"""

import contextlib
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

accounts = threading.Lock()
ledger = threading.RLock()
both_hold = threading.Barrier(2)


def take_in_order(locks):
    with contextlib.ExitStack() as stack:
        stack.enter_context(locks[0])
        both_hold.wait()
        stack.enter_context(locks[1])  # BLOCK:second


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threads = [threading.Thread(target=take_in_order, args=([accounts, ledger],), name="batch-a"),
               threading.Thread(target=take_in_order, args=([ledger, accounts],), name="batch-b")]
    for t in threads:
        t.start()
    h.watch({"batch-a": "second", "batch-b": "second"},
            expect={"cycle_threads": ["batch-a", "batch-b"],
                    "manager_bases": ["with-block exit-stack", "with-block exit-stack owner-field"]})
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
