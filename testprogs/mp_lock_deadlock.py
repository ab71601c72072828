"""mp_lock_deadlock: a lock-order inversion between two threads of one process over
multiprocessing locks, which are semaphores in shared memory, not _thread locks.

"poster" holds `ledger` (a multiprocessing.Lock, in a with block) and wants `journal`;
"auditor" holds `journal` (a multiprocessing.RLock, taken with a bare acquire()) and wants
`ledger`. A barrier makes sure each holds its first lock before it reaches for the other's.
The main thread joins them.

A blocked acquire() of a multiprocessing lock waits in sem_wait() on the lock's sem_t, whose
address the lock's _semlock holds. A diagnosis should find a deadlock between poster and
auditor through ledger and journal: ledger held by poster's with block, journal by auditor,
as the RLock's owner field (the SemLock's last_tid and count) says. Neither lock is an
orphan, though no thread of another process is known.
"""

import multiprocessing
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

ledger = multiprocessing.Lock()
journal = multiprocessing.RLock()
both_hold_one = threading.Barrier(2)


def post():
    with ledger:
        both_hold_one.wait()
        journal.acquire()  # BLOCK:poster
        journal.release()


def audit():
    journal.acquire()
    both_hold_one.wait()
    with ledger:  # BLOCK:auditor
        pass
    journal.release()


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threads = [threading.Thread(target=post, name="poster"), threading.Thread(target=audit, name="auditor")]
    for t in threads:
        t.start()
    h.watch({"poster": "poster", "auditor": "auditor", "MainThread": "main"},
            expect={"cycle_threads": ["poster", "auditor"], "locks": ["ledger", "journal"]})
    for t in threads:
        t.join()  # BLOCK:main


if __name__ == "__main__":
    main()
