"""asyncio_lock_order: two tasks take two asyncio.Locks in opposite order.

"posting" holds `ledger` and wants `audit_log`; "audit" holds `audit_log` and wants `ledger`,
both with `async with`. An asyncio.Event makes sure each holds its first lock before
reaching for the second, so the cycle forms on every run. The main task awaits both in
gather(); the loop then has nothing else to do and its thread sits in select().

A diagnosis should find a deadlock over the tasks posting and audit through the locks ledger
and audit_log, each hold proven by the async with block; the main task waits on the gather().

With --bare each task takes its locks with `await lock.acquire()` and gives them back in a
`finally:` block. An asyncio.Lock records no owner, so each hold is inferred from where
the task is suspended, after the acquire() and before the release(): the deadlock is then
probable, still an error (each lock has that one probable holder), and each step names
its holder.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

ledger = None
audit_log = None


async def take(first, second, mine, theirs):
    async with first:
        mine.set()
        await theirs.wait()
        async with second:  # BLOCK:second
            pass


async def take_bare(first, second, mine, theirs):
    await first.acquire()
    try:
        mine.set()
        await theirs.wait()
        await second.acquire()  # BLOCK:second_bare
        second.release()
    finally:
        first.release()


async def main(aio, bare):
    global ledger, audit_log
    take_both = take_bare if bare else take
    aio.register()
    asyncio.current_task().set_name("main")
    ledger, audit_log = asyncio.Lock(), asyncio.Lock()
    posting_holds, audit_holds = asyncio.Event(), asyncio.Event()
    posting = asyncio.ensure_future(take_both(ledger, audit_log, posting_holds, audit_holds))
    audit = asyncio.ensure_future(take_both(audit_log, ledger, audit_holds, posting_holds))
    posting.set_name("posting")
    audit.set_name("audit")
    await asyncio.gather(posting, audit)  # BLOCK:gather


def main_thread():
    p = _harness.parser(__doc__)
    p.add_argument("--bare", action="store_true", help="take the locks with await acquire()")
    h = _harness.Harness(p.parse_args())
    aio = _aioharness.Tasks(h)
    second = "second_bare" if h.args.bare else "second"
    h.watch(aio.blocked({"posting": second, "audit": second, "main": "gather"}, {"MainThread": "main"}),
            expect=lambda snapshot: {"cycle_tasks": ["audit", "posting"], "locks": ["audit_log", "ledger"],
                                     "probable": h.args.bare, "tasks": aio.tasks()})
    asyncio.run(main(aio, h.args.bare))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
