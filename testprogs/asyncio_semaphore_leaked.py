"""asyncio_semaphore_leaked: a task cancelled between a semaphore's acquire() and release().

"slow" takes the one unit of `slots` (an asyncio.Semaphore(1)) with `await slots.acquire()`
and is cancelled while it sleeps, before its `release()`, which no finally: block
protects. "fetch-1" and "fetch-2" then wait for a unit forever; the main task gathers them.
Nothing else is scheduled.

A diagnosis should find the event loop stalled over its three tasks, and say that the
semaphore has no unit left and no task holds one: a task ended before its release().
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

slots = None


async def fetch(delay):
    await slots.acquire()  # BLOCK:acquire
    await asyncio.sleep(delay)
    slots.release()


async def main(aio):
    global slots
    aio.register()
    asyncio.current_task().set_name("main")
    slots = asyncio.Semaphore(1)
    slow = asyncio.ensure_future(fetch(3600))
    slow.set_name("slow")
    await asyncio.sleep(0.05)
    others = [asyncio.ensure_future(fetch(0)) for _ in range(2)]
    for i, t in enumerate(others, 1):
        t.set_name("fetch-%d" % i)
    await asyncio.sleep(0.05)
    slow.cancel()
    await asyncio.gather(*others)  # BLOCK:gather


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    h.watch(aio.blocked({"fetch-1": "acquire", "fetch-2": "acquire", "main": "gather"}, {"MainThread": "main"}),
            expect=lambda snapshot: {"loop_stall": ["main", "fetch-1", "fetch-2"], "events": ["slots"],
                                     "advice": "slots has no unit left and no task holds one",
                                     "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
