"""healthy_idle_pool: a ThreadPoolExecutor whose workers are idle.

Four "idle_N" workers ran their jobs and now wait in the executor's own work-queue get()
for more; the main thread keeps the pool and sleeps. Idle pool workers are normal: a
diagnosis must report no finding.
"""

import concurrent.futures
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

WORKERS = 4
# Every job waits until all of them run at once, so no worker is idle before
# the last submit, and the pool starts all four (an idle worker would take the
# next job instead of a new one, however slow the machine).
all_running = threading.Barrier(WORKERS)


def job(n):
    all_running.wait()
    return n * n


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    pool = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="idle")
    results = list(pool.map(job, range(WORKERS)))
    names = ["idle_%d" % i for i in range(WORKERS)]

    main_asleep = h.blocked({"MainThread": "main"})

    def idle(snapshot):
        named = {t["name"]: t for t in snapshot}
        out = [named.get(n) for n in names]
        for name, t in zip(names, out):
            if t is None:
                raise _harness.NotReady("no worker %s" % name)
            inner = t["frames"][0]
            if inner["function"] != "_worker" or not _harness.library_line_blocks(inner):
                raise _harness.NotReady("%s not idle (at %s)" % (name, _harness.where(t)))
        return out + main_asleep(snapshot)

    h.watch(idle, expect={"healthy": True, "idle_workers": names, "results": results})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
