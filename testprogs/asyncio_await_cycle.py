"""asyncio_await_cycle: two tasks await each other.

"producer" and "consumer" each await the other task to finish first (a start-up handshake
written twice). Neither can ever finish. The main task awaits the producer; the loop then
has nothing else to do.

A diagnosis should find a deadlock over the tasks producer and consumer, each waiting for
the other task, which alone can end the wait.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

tasks = {}


async def start(other):
    await asyncio.sleep(0)
    await tasks[other]  # BLOCK:other


async def main(aio):
    aio.register()
    asyncio.current_task().set_name("main")
    tasks["producer"] = asyncio.ensure_future(start("consumer"))
    tasks["consumer"] = asyncio.ensure_future(start("producer"))
    for name, task in tasks.items():
        task.set_name(name)
    await tasks["producer"]  # BLOCK:wait


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    h.watch(aio.blocked({"producer": "other", "consumer": "other", "main": "wait"}, {"MainThread": "main"}),
            expect=lambda snapshot: {"cycle_tasks": ["consumer", "producer"], "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
