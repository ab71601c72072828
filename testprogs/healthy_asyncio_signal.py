"""healthy_asyncio_signal: the only task waits for an event that a signal handler sets.

The main task "main" waits on the asyncio.Event `shutdown`. A handler installed with
signal.signal() (not the loop's add_signal_handler) calls
loop.call_soon_threadsafe(shutdown.set) when SIGUSR1 arrives: the signal interrupts the
loop's select() on the main thread, the handler runs there and wakes the loop. The loop is
idle, with no callback, timer or descriptor, until then: that is how a service waits to be
told to stop.

A negative control: nothing may be reported, since the handler may end the wait.
"""

import asyncio
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402


async def main(aio):
    aio.register()
    asyncio.current_task().set_name("main")
    loop = asyncio.get_running_loop()
    shutdown = asyncio.Event()
    signal.signal(signal.SIGUSR1, lambda *args: loop.call_soon_threadsafe(shutdown.set))
    await shutdown.wait()  # BLOCK:wait


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    h.watch(aio.blocked({"main": "wait"}), expect=lambda snapshot: {"healthy": True, "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:run


if __name__ == "__main__":
    main_thread()
