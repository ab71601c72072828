"""asyncio_condition_order: two tasks take an asyncio.Condition and an asyncio.Lock in opposite order.

"posting" holds `ledger`, an asyncio.Condition (over its own Lock), and wants `audit_log`,
a Lock; "audit" holds `audit_log` and wants `ledger`, both with `async with`. An
asyncio.Event makes sure each holds its first before reaching for the second, so the
cycle forms on every run. The main task awaits both in gather(); the loop then has
nothing else to do and its thread sits in select().

A diagnosis should find a deadlock over the tasks posting and audit through ledger's lock
and audit_log: the task entering `async with ledger:` waits for the condition's lock,
which the other task's async with block holds; the main task waits on the gather().
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


async def main(aio):
    global ledger, audit_log
    aio.register()
    asyncio.current_task().set_name("main")
    ledger, audit_log = asyncio.Condition(), asyncio.Lock()
    posting_holds, audit_holds = asyncio.Event(), asyncio.Event()
    posting = asyncio.ensure_future(take(ledger, audit_log, posting_holds, audit_holds))
    audit = asyncio.ensure_future(take(audit_log, ledger, audit_holds, posting_holds))
    posting.set_name("posting")
    audit.set_name("audit")
    await asyncio.gather(posting, audit)  # BLOCK:gather


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    h.watch(aio.blocked({"posting": "second", "audit": "second", "main": "gather"}, {"MainThread": "main"}),
            expect=lambda snapshot: {"cycle_tasks": ["audit", "posting"], "locks": ["audit_log", "ledger._lock"],
                                     "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
