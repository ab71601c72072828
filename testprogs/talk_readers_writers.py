"""talk_readers_writers (also orphaned_lock.py): a lock orphaned by a swallowed exception.

ReadersWriters is the textbook "first readers-writers" lock: readers take `mutex` to count
themselves, the first reader takes `file_lock` with a bare acquire() and the last one
releases it; writers use `with self.file_lock`. Each pool job reads the ledger, then appends
to it. The ledger file was rotated away, so read() raises between its acquire and release;
the job's broad `except` swallows that, `readers` never drops back to 0, and `file_lock`
stays locked by a thread that has long moved on. Every pool worker ends up blocked in
write(), and the main thread waits for their futures.

A diagnosis should find an orphaned lock: ReadersWriters.file_lock is locked, no live
thread holds it (no `with` block, no thread still between acquire and release), the bare
acquire() site is ReadersWriters.read at the `SITE:acquire` line, and four workers wait on it.
"""

import concurrent.futures
import os
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

WORKERS = 4


class ReadersWriters:
    """Many readers at once, or one writer."""

    def __init__(self, path):
        self.path = path
        self.mutex = threading.Lock()
        self.file_lock = threading.Lock()
        self.readers = 0

    def read(self):
        with self.mutex:
            self.readers += 1
            if self.readers == 1:
                self.file_lock.acquire()  # SITE:acquire
        with open(self.path) as f:  # raises if the file is gone: the count never drops
            data = f.read()
        with self.mutex:
            self.readers -= 1
            if self.readers == 0:
                self.file_lock.release()
        return data

    def write(self, text):
        with self.file_lock:  # BLOCK:write
            with open(self.path, "a") as f:
                f.write(text)


def nightly_sync(ledger, job):
    try:
        entries = ledger.read().count("\n")
    except Exception:  # "the report is best effort"
        entries = 0
    ledger.write("job %d saw %d entries\n" % (job, entries))
    return entries


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    workdir = tempfile.mkdtemp()
    path = os.path.join(workdir, "ledger.txt")
    with open(path, "w") as f:
        f.write("opening balance\n")
    ledger = ReadersWriters(path)
    os.remove(path)  # log rotation takes the file away
    os.rmdir(workdir)

    pool = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="sync")
    jobs = [pool.submit(nightly_sync, ledger, n) for n in range(WORKERS + 2)]
    workers = ["sync_%d" % i for i in range(WORKERS)]
    h.watch(dict({w: "write" for w in workers}, MainThread="main"), expect={
        "orphaned": "file_lock",
        "acquire_site": h.line("acquire"),
        "acquire_function": "ReadersWriters.read",
        "blocked": workers,
    })
    for job in jobs:
        print(job.result())  # BLOCK:main


if __name__ == "__main__":
    main()
