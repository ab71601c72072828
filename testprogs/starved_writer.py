"""starved_writer: readers who keep coming starve a writer of a readers-preferring lock.

ReadersWriters is the same "first readers-writers" lock as talk_readers_writers.py: the
first reader in takes `file_lock` with a bare acquire(), the last one out releases it, and
a writer takes it with `with`. Here nothing fails: three readers read in turns that
overlap (each reads for 2.9 slots of 0.1 s and starts a new read every 3 slots, one slot
after the previous reader), so at least two readers are always reading, the count never
drops to 0, and `file_lock` is never released. The writer waits for it forever while the
readers keep running, each taking its turn as the lock's holder.

One snapshot sees a locked lock probably held by readers that are alive and running: no
problem. Looks over time (diagnose --samples) see the writer stuck on file_lock while the
readers, moving, pass the lock among themselves: starvation of "writer" on file_lock.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

SLOT = 0.1
READERS = 3


class ReadersWriters:
    """Many readers at once, or one writer."""

    def __init__(self):
        self.mutex = threading.Lock()
        self.file_lock = threading.Lock()
        self.readers = 0
        self.writes = 0

    def read(self, until):
        with self.mutex:
            self.readers += 1
            if self.readers == 1:
                self.file_lock.acquire()  # SITE:acquire
        pause_until(until)  # reading
        with self.mutex:
            self.readers -= 1
            if self.readers == 0:
                self.file_lock.release()

    def write(self):
        with self.file_lock:  # BLOCK:write
            self.writes += 1


def pause_until(t):
    left = t - time.monotonic()
    if left > 0:
        time.sleep(left)


def reader(rw, start, k):
    n = 0
    while True:
        slot = start + (READERS * n + k) * SLOT
        pause_until(slot)
        rw.read(slot + 2.9 * SLOT)
        n += 1


def writer(rw):
    while True:
        rw.write()


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    rw = ReadersWriters()
    start = time.monotonic() + 0.2
    for k in range(READERS):
        threading.Thread(target=reader, args=(rw, start, k), name="reader_%d" % k, daemon=True).start()
    pause_until(start + 0.05)  # the first reader holds file_lock
    threading.Thread(target=writer, args=(rw,), name="writer", daemon=True).start()
    h.watch({"writer": "write", "MainThread": "main"}, expect={
        "starved": "writer",
        "lock": "file_lock",
        "readers": ["reader_%d" % k for k in range(READERS)],
    })
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
