"""fork_child: a child process forked while another thread held a lock.

The parent keeps metrics under the RLock `metrics_lock`; a "flusher" thread writes them
out every so often, holding it. The main thread forks a worker process at that moment. The child
has one thread, the one that called fork(), and a copy of the parent's memory, where
metrics_lock is still owned by "flusher", a thread the child does not have. The child
records a metric, waits for metrics_lock, and never gets it. The parent waits for the
child. The child writes the ready file: its pid is the one to diagnose.

A diagnosis of the child should find an orphaned lock inherited over fork: metrics_lock,
owned by "flusher", a thread of the parent (live: the kernel shows it in the parent), with
the child's only thread waiting for it.

With --bare metrics_lock is a Lock, which records no owner, and the flusher takes it with
acquire() and gives it back in a finally: block. The diagnosis is the same orphaned lock
inherited over fork, told by the fork in the child's stack, its one thread, and the
flusher's acquire() standing in a function the child's thread is not in; not a lock left
taken by an acquire() whose release() never ran.
"""

import os
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

metrics_lock = None
metrics = []


def flush(holding, forked):
    while True:
        with metrics_lock:  # SITE:flusher
            if not holding.is_set():
                holding.set()
                forked.wait()  # the main thread forks now, while this thread holds the lock
            del metrics[:]
        time.sleep(0.5)


def flush_bare(holding, forked):
    while True:
        metrics_lock.acquire()  # SITE:acquire
        try:
            if not holding.is_set():
                holding.set()
                forked.wait()
            del metrics[:]
        finally:
            metrics_lock.release()
        time.sleep(0.5)


def record(name):
    with metrics_lock:  # BLOCK:record
        metrics.append(name)


def main():
    global metrics_lock
    p = _harness.parser(__doc__)
    p.add_argument("--bare", action="store_true", help="a Lock the flusher takes with acquire()")
    h = _harness.Harness(p.parse_args())
    metrics_lock = threading.Lock() if h.args.bare else threading.RLock()
    holding, forked = threading.Event(), threading.Event()
    flusher = threading.Thread(target=flush_bare if h.args.bare else flush, args=(holding, forked), name="flusher",
                               daemon=True)
    flusher.start()
    holding.wait()
    with warnings.catch_warnings():
        # 3.12+ warns that forking a process with threads may deadlock the child: it will.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()  # SITE:fork
    if pid == 0:
        if threading.main_thread().native_id != threading.get_native_id():
            # Before 3.14 the forking thread keeps the parent's native id.
            threading.main_thread()._native_id = threading.get_native_id()
        expect = {"fork_orphan": "metrics_lock", "owner": "flusher", "owner_native_id": flusher.native_id,
                  "parent_pid": os.getppid(), "fork_site": h.line("fork"), "waiters": ["MainThread"]}
        if h.args.bare:
            # A Lock has no owner field: the flusher's acquire() is what tells it.
            expect.update(owner="", owner_native_id=0, acquire_site=h.line("acquire"))
        h.watch({"MainThread": "record"}, expect=expect)
        record("child started")
        os._exit(0)
    forked.set()
    os.waitpid(pid, 0)  # BLOCK:parent


if __name__ == "__main__":
    main()
