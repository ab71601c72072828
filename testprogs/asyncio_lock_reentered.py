"""asyncio_lock_reentered: a task takes an asyncio.Lock it already holds, in one coroutine.

"sync" enters `async with state:` and, inside that block, `async with state:` again, in the
same coroutine (asyncio.Lock is not reentrant). It waits forever for itself. The main task
awaits it; the loop then has nothing else to do and its thread sits in select().

A diagnosis should find a deadlock of the one task "sync" on the lock `state`, its hold
placed at the outer async with, not the one it is entering.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

state = None


async def sync():
    async with state:  # SITE:outer
        await asyncio.sleep(0)
        async with state:  # BLOCK:inner
            pass


async def main(aio):
    global state
    aio.register()
    asyncio.current_task().set_name("main")
    state = asyncio.Lock()
    task = asyncio.ensure_future(sync())
    task.set_name("sync")
    await task  # BLOCK:await


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    h.watch(aio.blocked({"sync": "inner", "main": "await"}, {"MainThread": "main"}),
            expect=lambda snapshot: {"cycle_tasks": ["sync"], "locks": ["state"],
                                     "hold_line": h.line("outer"), "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
