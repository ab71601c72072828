"""asyncio_queue_join: the main task waits in join() for jobs its consumer never marks done.

The main task puts three jobs on `jobs` (an asyncio.Queue) and awaits `jobs.join()`. The
task "consumer" takes each job and handles it, but never calls `task_done()`: once the three
are taken, it waits in `jobs.get()` for more, and main waits in join() for three tasks that
will never be marked done. Nothing else is scheduled.

A diagnosis should find the event loop stalled over its two tasks, and say that join()
waits for task_done() calls (3 tasks never marked done), not that nothing is left to put.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

jobs = None
handled = []


async def consume():
    while True:
        job = await jobs.get()  # BLOCK:get
        handled.append(job)  # the job is never marked done


async def main(aio):
    global jobs
    aio.register()
    asyncio.current_task().set_name("main")
    jobs = asyncio.Queue()
    consumer = asyncio.ensure_future(consume())
    consumer.set_name("consumer")
    for n in range(3):
        jobs.put_nowait(n)
    await jobs.join()  # BLOCK:join


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    h.watch(aio.blocked({"consumer": "get", "main": "join"}, {"MainThread": "main"}),
            expect=lambda snapshot: {"loop_stall": ["main", "consumer"], "events": ["jobs"],
                                     "advice": "jobs has 3 tasks never marked done: call task_done()",
                                     "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
