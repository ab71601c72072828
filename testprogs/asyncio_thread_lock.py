"""asyncio_thread_lock: a coroutine blocks the loop on a threading.Lock a suspended task holds.

"cache-filler" takes the threading.Lock `cache_lock` in a with block and, inside it, awaits an
event (a fetch that would be answered by a later step of the same loop). The main task then
calls a helper that takes `cache_lock` synchronously: the loop's thread blocks in
lock.acquire(), so the loop can never run cache-filler again, which alone would release the
lock.

A diagnosis should find a deadlock through the event loop: MainThread waits for cache_lock,
held by the task cache-filler (its with block), which can only run when MainThread runs the
loop. Not an orphaned lock.
"""

import asyncio
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

cache_lock = threading.Lock()


async def fill(fetched):
    with cache_lock:
        await fetched.wait()  # BLOCK:fill


def lookup():
    with cache_lock:  # BLOCK:lookup
        return None


async def main(aio):
    aio.register()
    asyncio.current_task().set_name("main")
    fetched = asyncio.Event()
    filler = asyncio.ensure_future(fill(fetched))
    filler.set_name("cache-filler")
    await asyncio.sleep(0.05)
    lookup()


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    h.watch(aio.blocked({"cache-filler": "fill"}, {"MainThread": "lookup"}),
            expect=lambda snapshot: {"cycle_tasks": ["cache-filler"], "cycle_threads": ["MainThread"],
                                     "locks": ["cache_lock"], "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
