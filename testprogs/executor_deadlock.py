"""executor_deadlock: tasks that wait on tasks queued on their own, full pool.

A ThreadPoolExecutor of 2 workers ("render_0", "render_1") renders pages. Each page task
submits its header to the same pool and waits for it. Both workers are busy with pages,
so the two header tasks wait in the pool's queue for a free worker that never comes: each
worker waits for work only the pool's workers could run. The main thread waits for the
first page.

A diagnosis should find a deadlock of the pool's 2 workers: each waits for a future that
is queued on its own pool, which has no free worker (max_workers=2, both taken).
"""

import concurrent.futures
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

WORKERS = 2
pool = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="render")
both_started = threading.Barrier(WORKERS)


def render_header(n):
    return "<h1>page %d</h1>" % n


def render_page(n):
    both_started.wait()  # both workers take a page before any header is queued
    header = pool.submit(render_header, n)
    return header.result() + "..."  # BLOCK:page


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    pages = [pool.submit(render_page, n) for n in range(WORKERS)]
    workers = ["render_%d" % i for i in range(WORKERS)]
    spec = {w: "page" for w in workers}
    spec["MainThread"] = "main"
    h.watch(spec, expect={"pool_deadlock": workers, "max_workers": WORKERS, "queued": WORKERS})
    pages[0].result()  # BLOCK:main


if __name__ == "__main__":
    main()
