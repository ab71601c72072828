"""asyncio_queue_starved: consumer tasks wait on a queue whose producer task died.

"producer" puts two jobs on `jobs` (an asyncio.Queue) and then fails, before it puts the
stop marks its consumers wait for. "consumer-a" and "consumer-b" each take jobs until they
get a stop mark; the main task gathers them. Once the two jobs are taken, the consumers wait
in `jobs.get()` and nothing else is scheduled: no callback, no timer, no file descriptor but
the loop's own self-pipe, no other thread.

A diagnosis should find the event loop stalled over its three tasks (both consumers wait
for the queue jobs, main for the gather()) and say that nothing is left to put to jobs.

--full turns it around: `jobs` holds two items at most, and the consumer ("consumer")
fails on its first job; "producer-a" and "producer-b" then wait in `jobs.put()` on the
full queue forever. The stall's advice says the queue is full and nothing is left to take
from it.
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


async def failing_consumer():
    await jobs.get()
    raise RuntimeError("the consumer fails on its first job")


async def fill():
    for n in range(10):
        await jobs.put(n)  # BLOCK:put


async def main_full(aio):
    global jobs
    aio.register()
    asyncio.current_task().set_name("main")
    jobs = asyncio.Queue(maxsize=2)
    c = asyncio.ensure_future(failing_consumer())
    c.set_name("consumer")
    a = asyncio.ensure_future(fill())
    b = asyncio.ensure_future(fill())
    a.set_name("producer-a")
    b.set_name("producer-b")
    await asyncio.gather(a, b)  # BLOCK:gather_full


def main_thread():
    p = _harness.parser(__doc__)
    p.add_argument("--full", action="store_true")
    h = _harness.Harness(p.parse_args())
    aio = _aioharness.Tasks(h)
    if h.args.full:
        h.watch(aio.blocked({"producer-a": "put", "producer-b": "put", "main": "gather_full"}, {"MainThread": "main_full"}),
                expect=lambda snapshot: {"loop_stall": ["main", "producer-a", "producer-b"],
                                         "events": ["jobs"], "advice": "jobs is full and no task or thread is left to take from it",
                                         "tasks": aio.tasks()})
        asyncio.run(main_full(aio))  # BLOCK:main_full
        return
    h.watch(aio.blocked({"consumer-a": "get", "consumer-b": "get", "main": "gather"}, {"MainThread": "main"}),
            expect=lambda snapshot: {"loop_stall": ["main", "consumer-a", "consumer-b"],
                                     "events": ["jobs"], "advice": "left to put to jobs", "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
