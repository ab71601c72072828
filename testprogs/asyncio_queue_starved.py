"""asyncio_queue_starved: consumer tasks wait on a queue whose producer task died.

"producer" puts two jobs on `jobs` (an asyncio.Queue) and then fails, before it puts the
stop marks its consumers wait for. "consumer-a" and "consumer-b" each take jobs until they
get a stop mark; the main task gathers them. Once the two jobs are taken, the consumers wait
in `jobs.get()` and nothing else is scheduled: no callback, no timer, no file descriptor but
the loop's own self-pipe, no other thread.

A diagnosis should find the event loop stalled over its three tasks (both consumers wait
for the queue jobs, main for the gather()) and say that nothing is left to put to jobs.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

jobs = None
STOP = object()


async def producer():
    for n in range(2):
        await jobs.put(n)
    raise RuntimeError("the producer fails before it puts the stop marks")


async def consumer():
    while True:
        job = await jobs.get()  # BLOCK:get
        if job is STOP:
            return


async def main(aio):
    global jobs
    aio.register()
    asyncio.current_task().set_name("main")
    jobs = asyncio.Queue()
    a = asyncio.ensure_future(consumer())
    b = asyncio.ensure_future(consumer())
    a.set_name("consumer-a")
    b.set_name("consumer-b")
    p = asyncio.ensure_future(producer())
    p.set_name("producer")
    await asyncio.gather(a, b)  # BLOCK:gather


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    h.watch(aio.blocked({"consumer-a": "get", "consumer-b": "get", "main": "gather"}, {"MainThread": "main"}),
            expect=lambda snapshot: {"loop_stall": ["main", "consumer-a", "consumer-b"],
                                     "events": ["jobs"], "advice": "left to put to jobs", "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
