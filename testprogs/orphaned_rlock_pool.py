"""orphaned_rlock_pool: a pool worker's task takes an RLock and raises before its release().

`state` is an RLock. A task run on a ThreadPoolExecutor worker ("worker_0") takes it with a
bare acquire() and raises before its release(); the worker catches the exception into the
task's future and goes back to waiting for work, still owning the RLock. "reader" then asks
for `state` in a with block and waits forever, while the main thread goes on serving (it
sleeps between rounds). The worker lives on, but holds the RLock in no frame, and no code
releases it without taking it first: only its owner could, and it never will.

A diagnosis should find an orphaned lock (cause left-by-owner) naming the worker as the
owner, the acquire() that took it, and the waiting reader.
"""

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

state = threading.RLock()


def refresh():
    state.acquire()  # SITE:acquire
    raise OSError("the backend is down")  # the release() below never runs
    state.release()


def read():
    with state:  # BLOCK:read
        pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    pool = ThreadPoolExecutor(1, thread_name_prefix="worker")
    pool.submit(refresh).exception()  # the task failed; the worker waits for the next
    threading.Thread(target=read, name="reader", daemon=True).start()
    others = h.blocked({"reader": "read", "MainThread": "main"})

    def ready(snapshot):
        worker = next((t for t in snapshot if t["name"] == "worker_0"), None)
        if worker is None:
            raise _harness.NotReady("no worker_0")
        inner = worker["frames"][0]
        if inner["function"] != "_worker" or not _harness.library_line_blocks(inner):
            raise _harness.NotReady("worker_0 not idle (at %s)" % _harness.where(worker))
        return [worker] + others(snapshot)

    h.watch(ready,
            expect={"orphaned_rlock": "state", "left_by": "worker_0", "blocked": ["reader"],
                    "acquire_site": h.line("acquire")})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
