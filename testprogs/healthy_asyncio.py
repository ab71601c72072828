"""healthy_asyncio: event loops that are busy or wait with timeouts. Nothing is wrong.

The main thread runs a loop whose tasks sleep: "napper" in asyncio.sleep(3600), "poller" in
asyncio.wait_for() on an event with a 3600 s timeout. Thread "busy-loop" runs a second loop
whose tasks "spinner-0" and "spinner-1" compute and yield to each other with sleep(0): the
loop never sits still. Sleeping tasks end by their timers, and a busy loop is progress: a
diagnosis must report no finding (no deadlock, orphaned lock or blocked event loop).
"""

import asyncio
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402


async def nap():
    await asyncio.sleep(3600)  # BLOCK:nap


async def poll(ev):
    await asyncio.wait_for(ev.wait(), 3600)  # BLOCK:poll


async def spin():
    total = 0
    while True:
        for n in range(1000):
            total = (total * 31 + n) % 1000003
        await asyncio.sleep(0)


async def busy(aio):
    aio.register()
    asyncio.current_task().set_name("busy")
    spinners = [asyncio.ensure_future(spin()) for _ in range(2)]
    for n, t in enumerate(spinners):
        t.set_name("spinner-%d" % n)
    await asyncio.gather(*spinners)


async def main(aio):
    aio.register()
    asyncio.current_task().set_name("main")
    ev = asyncio.Event()
    napper = asyncio.ensure_future(nap())
    poller = asyncio.ensure_future(poll(ev))
    napper.set_name("napper")
    poller.set_name("poller")
    await asyncio.gather(napper, poller)  # BLOCK:gather


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    threading.Thread(target=lambda: asyncio.run(busy(aio)), name="busy-loop", daemon=True).start()
    blocked = aio.blocked({"napper": "nap", "poller": "poll", "main": "gather"}, {"MainThread": "main"})

    def ready(snapshot):
        watched = blocked(snapshot)
        if sum(1 for t in aio.tasks() if t["name"].startswith("spinner-")) != 2:
            raise _harness.NotReady("spinners not started")
        return watched

    h.watch(ready, expect=lambda snapshot: {"healthy": True, "running": ["busy-loop"],
                                            "moving_tasks": ["busy", "spinner-0", "spinner-1"],
                                            "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
