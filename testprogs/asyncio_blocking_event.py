"""asyncio_blocking_event: a coroutine waits on a threading.Event that only a task of its own
loop would set.

The main task starts "flusher", which sleeps a moment and then sets the threading.Event
`flushed`, and then calls `flushed.wait()`, a blocking wait, on the loop's thread: the loop
can never run flusher again, so the event is never set.

A diagnosis should find an abandoned wait on `flushed` (an error) that names flusher's
set() as the one call that would end it, a call only the blocked loop's thread would make;
and a blocked event loop (a warning).
"""

import asyncio
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

flushed = threading.Event()


async def flush():
    await asyncio.sleep(3600)  # BLOCK:flusher
    flushed.set()


async def main(aio):
    aio.register()
    asyncio.current_task().set_name("main")
    f = asyncio.ensure_future(flush())
    f.set_name("flusher")
    await asyncio.sleep(0.05)
    flushed.wait()  # BLOCK:wait


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    h.watch(aio.blocked({"flusher": "flusher"}, {"MainThread": "wait"}),
            expect=lambda snapshot: {"own_loop_event": "flushed", "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:run


if __name__ == "__main__":
    main_thread()
