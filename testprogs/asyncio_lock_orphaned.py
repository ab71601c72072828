"""asyncio_lock_orphaned: a task ends between an asyncio.Lock's acquire() and its release().

"setup" takes `lock` (an asyncio.Lock) with `await lock.acquire()` and returns early on
an error path, before its `release()`, which no finally: block protects. The task is done
and gone. "worker-1" .. "worker-3" then wait in `async with lock:` forever; the main task
gathers them. Nothing else is scheduled.

--holder: "setup" does not end: it sleeps for an hour between its acquire() and its
release(). The lock is held, probably, by that suspended task, and not orphaned; the
workers wait for it (a timed wait of the holder: no finding but the loop's own).

A diagnosis should say that the lock is orphaned, with the three tasks waiting for it, and
name the acquire() whose release() never ran; the stalled loop is that finding's
consequence, not a finding of its own.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

lock = None
holder = False


async def setup():
    await lock.acquire()  # SITE:acquire
    if not holder:
        return  # the early return of an error path: the lock stays taken
    await asyncio.sleep(3600)  # BLOCK:holding
    lock.release()


async def work():
    async with lock:  # BLOCK:enter
        pass


async def main(aio):
    global lock
    aio.register()
    asyncio.current_task().set_name("main")
    lock = asyncio.Lock()
    first = asyncio.ensure_future(setup())
    first.set_name("setup")
    await asyncio.sleep(0.05)
    if not holder:
        del first  # done, and collected
    workers = [asyncio.ensure_future(work()) for _ in range(3)]
    for i, t in enumerate(workers, 1):
        t.set_name("worker-%d" % i)
    await asyncio.gather(*workers)  # BLOCK:gather


def main_thread():
    global holder
    p = _harness.parser(__doc__)
    p.add_argument("--holder", action="store_true")
    args = p.parse_args()
    holder = args.holder
    h = _harness.Harness(args)
    aio = _aioharness.Tasks(h)
    blocked = {"worker-1": "enter", "worker-2": "enter", "worker-3": "enter", "main": "gather"}
    if holder:
        blocked["setup"] = "holding"
    expect = {"orphaned": {"lock": "lock", "waiters": ["worker-1", "worker-2", "worker-3"],
                           "acquire_line": h.line("acquire")}}
    if holder:
        expect = {"healthy": True}
    h.watch(aio.blocked(blocked, {"MainThread": "main"}),
            expect=lambda snapshot: dict(expect, tasks=aio.tasks()))
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
