"""healthy_rw_starved: a writer starved by readers who keep reading. Nothing is stuck.

RWLock is a readers-preferring readers/writer lock: acquire_read() counts the reader in,
and the first reader takes `write_lock` with a bare acquire(); release_read() counts it
out, and the last reader releases it; the writer takes `write_lock` with `with`. Three
"reader" threads read in turns that overlap (each starts a new read before the others
have finished theirs), so the count never drops to 0 and the "writer" waits. The readers
are alive and reading, each between its acquire_read() and its release_read(): the lock
is held, by whichever reader came first, and will be released when they stop.

A diagnosis must report no deadlock and no orphaned lock (a snapshot sees a locked lock
with a waiting writer and readers that are running, not a lock nobody holds).
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

READERS = 3
SLOT = 0.1


class RWLock:
    """Many readers at once, or one writer; readers first."""

    def __init__(self):
        self.mutex = threading.Lock()
        self.write_lock = threading.Lock()
        self.readers = 0

    def acquire_read(self):
        with self.mutex:
            self.readers += 1
            if self.readers == 1:
                self.write_lock.acquire()

    def release_read(self):
        with self.mutex:
            self.readers -= 1
            if self.readers == 0:
                self.write_lock.release()


catalog = RWLock()
started = threading.Barrier(READERS + 1)


def reader(n):
    started.wait()
    time.sleep(n * SLOT)  # readers start one slot apart
    while True:
        catalog.acquire_read()
        try:
            time.sleep(READERS * SLOT - SLOT / 10)  # BLOCK:read  (overlaps the next reader's start)
        finally:
            catalog.release_read()


def writer():
    started.wait()
    time.sleep(READERS * SLOT)  # the readers are in
    with catalog.write_lock:  # BLOCK:write
        pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for n in range(READERS):
        threading.Thread(target=reader, args=(n,), name="reader-%d" % n, daemon=True).start()
    w = threading.Thread(target=writer, name="writer", daemon=True)
    w.start()
    spec = {"reader-%d" % n: "read" for n in range(READERS)}
    spec.update(writer="write", MainThread="main")
    h.watch(spec, expect={"healthy": True, "starved": "writer"})
    w.join()  # BLOCK:main


if __name__ == "__main__":
    main()
