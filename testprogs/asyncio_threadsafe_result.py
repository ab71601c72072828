"""asyncio_threadsafe_result: a coroutine waits on the result() of a coroutine it handed to an
event loop whose thread is its own.

Thread "loop-a" runs an event loop. Its task "asker-a" hands the coroutine answer() to that
same loop with asyncio.run_coroutine_threadsafe() and calls result() on the
concurrent.futures.Future it gets: the loop's thread blocks there, so the loop never runs
the callback that would start answer(), and the future is never set. The main thread joins
loop-a.

With --two-loops, thread "loop-b" runs a second loop, and each loop's asker hands answer()
to the other loop and waits on its result(): each loop's thread waits for the other's,
and neither loop can start the other's coroutine.

With --from-main (a negative control) the main thread, which runs no loop, hands the
coroutine nap() (an hour's asyncio.sleep) to loop-a and waits on its result(): the loop's
thread is free and will set the future. Nothing may be reported.

A diagnosis should find a deadlock of the loop threads, each waiting for a future that only
the thread running the loop the coroutine was handed to can set (the callback waits in
that loop's ready queue); the advice is to await asyncio.wrap_future() instead. The same
from a core: the loop's ready callbacks are in memory.
"""

import asyncio
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402


async def answer():
    return 42


async def nap(aio):
    aio.register()
    asyncio.current_task().set_name("nap")
    await asyncio.sleep(3600)  # BLOCK:nap


async def ask(aio, name, loop, started):
    aio.register()
    asyncio.current_task().set_name(name)
    # Every asker hands its coroutine over only once all have started: none
    # of the loops is then free to run another's (a blocking wait, on purpose).
    started.wait()
    fut = asyncio.run_coroutine_threadsafe(answer(), loop)
    return fut.result()  # BLOCK:result


def run_loop(loop):
    asyncio.set_event_loop(loop)
    loop.run_forever()  # BLOCK:loop


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--two-loops", action="store_true", help="two loops, each waiting for the other")
    p.add_argument("--from-main", action="store_true", help="the main thread waits on a loop's coroutine")
    h = _harness.Harness(p.parse_args())
    aio = _aioharness.Tasks(h)
    names = ["loop-a", "loop-b"] if h.args.two_loops else ["loop-a"]
    loops = [asyncio.new_event_loop() for _ in names]
    threads = [threading.Thread(target=run_loop, args=(lp,), name=n, daemon=True) for n, lp in zip(names, loops)]
    for t in threads:
        t.start()
    while not all(lp.is_running() for lp in loops):
        time.sleep(0.01)
    if h.args.from_main:
        fut = asyncio.run_coroutine_threadsafe(nap(aio), loops[0])
        h.watch(aio.blocked({"nap": "nap"}, {"MainThread": "wait"}),
                expect=lambda snapshot: {"healthy": True, "tasks": aio.tasks()})
        fut.result()  # BLOCK:wait
        return
    started = threading.Barrier(len(loops))
    for i, lp in enumerate(loops):
        target = loops[(i + 1) % len(loops)]
        asyncio.run_coroutine_threadsafe(ask(aio, "asker-" + names[i][-1], target, started), lp)
    h.watch(aio.blocked({}, {n: "result" for n in names}),
            expect=lambda snapshot: {"loop_future_cycle": names, "tasks": aio.tasks()})
    threads[0].join()  # BLOCK:join


if __name__ == "__main__":
    main()
