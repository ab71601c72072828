"""held_by_bare_acquire: healthy look-alike of the orphaned lock. Its holder is alive and busy.

"compactor" takes `journal_lock` with a bare acquire() (no `with` block on any frame) and
works through the journal slowly, sleeping between segments, before it will release it.
Two "appender" threads wait for the lock in `with journal_lock:`; the main thread joins them.

Nothing is wrong here, only slow: a diagnosis must not call journal_lock orphaned. The lock
has no `with` holder, but a live thread is between its bare acquire() and release() (the
`SITE:acquire` line is on its stack), so compactor is its probable holder.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

journal_lock = threading.Lock()
journal = []


def compact():
    journal_lock.acquire()  # SITE:acquire
    try:
        for segment in range(1000000):
            time.sleep(0.5)  # BLOCK:compacting
            journal.append(segment)
    finally:
        journal_lock.release()


def append(entry):
    with journal_lock:  # BLOCK:append
        journal.append(entry)


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    compactor = threading.Thread(target=compact, name="compactor")
    compactor.start()
    while not journal_lock.locked():
        time.sleep(0.01)
    appenders = [threading.Thread(target=append, args=(n,), name="appender-%d" % n)
                 for n in range(2)]
    for t in appenders:
        t.start()
    h.watch({"compactor": "compacting", "appender-0": "append", "appender-1": "append",
             "MainThread": "main"},
            expect={"healthy": True, "probable_holder": "compactor", "lock": "journal_lock",
                    "acquire_site": h.line("acquire")})
    for t in appenders:
        t.join()  # BLOCK:main


if __name__ == "__main__":
    main()
