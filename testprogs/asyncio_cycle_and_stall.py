"""asyncio_cycle_and_stall: a lock-order deadlock of two tasks, and beside it a task that waits forever.

"posting" holds `ledger` and wants `audit_log`; "audit" holds `audit_log` and wants `ledger`
(as in asyncio_lock_order). A third task, "reply", awaits the future `answer`, which the
responder that was never started would complete. The main task gathers all three; the loop
then has nothing left to do and its thread sits in select().

The cycle explains posting and audit, but not reply: nothing could ever complete `answer`.
A diagnosis should find two deadlocks: the cycle of posting and audit through ledger and
audit_log, and the stalled event loop over main and reply (waiting on the gather() and on
answer), which names posting and audit as in the deadlock above.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

ledger = None
audit_log = None
answer = None


async def take(first, second, mine, theirs):
    async with first:
        mine.set()
        await theirs.wait()
        async with second:  # BLOCK:second
            pass


async def reply():
    return await answer  # BLOCK:reply


async def main(aio):
    global ledger, audit_log, answer
    aio.register()
    asyncio.current_task().set_name("main")
    ledger, audit_log = asyncio.Lock(), asyncio.Lock()
    answer = asyncio.get_running_loop().create_future()
    posting_holds, audit_holds = asyncio.Event(), asyncio.Event()
    posting = asyncio.ensure_future(take(ledger, audit_log, posting_holds, audit_holds))
    audit = asyncio.ensure_future(take(audit_log, ledger, audit_holds, posting_holds))
    waiting = asyncio.ensure_future(reply())
    posting.set_name("posting")
    audit.set_name("audit")
    waiting.set_name("reply")
    await asyncio.gather(posting, audit, waiting)  # BLOCK:gather


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    h.watch(aio.blocked({"posting": "second", "audit": "second", "reply": "reply", "main": "gather"},
                        {"MainThread": "main"}),
            expect=lambda snapshot: {"cycle_tasks": ["audit", "posting"], "locks": ["audit_log", "ledger"],
                                     "loop_stall": ["main", "reply"], "events": ["answer"],
                                     "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
