"""asyncio_executor_lock: a task holds a threading.Lock across an await of work it runs in a
thread pool, and the work takes that lock.

The main task takes the threading.Lock `cache_lock` in a with block and, inside it, awaits
loop.run_in_executor(pool, refresh). The pool's worker "refresher_0" runs refresh(), which
takes `cache_lock` too: it waits for the task, the task for the future the worker's work
item completes (run_in_executor chains the awaited asyncio future to the pool's
concurrent.futures.Future, through a done-callback's closure).

A diagnosis should find a deadlock of the task main and the thread refresher_0 through
cache_lock and the run_in_executor() future, which only refresher_0 can end, with advice
not to hold a threading lock across such an await. Not a stalled loop.
"""

import asyncio
import concurrent.futures
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

cache_lock = threading.Lock()


def refresh():
    with cache_lock:  # BLOCK:refresh
        return 42


async def main(aio):
    aio.register()
    asyncio.current_task().set_name("main")
    loop = asyncio.get_running_loop()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="refresher")
    with cache_lock:
        return await loop.run_in_executor(pool, refresh)  # BLOCK:await


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    h.watch(aio.blocked({"main": "await"}, {"refresher_0": "refresh"}),
            expect=lambda snapshot: {"cycle_tasks": ["main"], "cycle_threads": ["refresher_0"],
                                     "locks": ["cache_lock"], "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
