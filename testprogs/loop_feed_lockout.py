"""loop_feed_lockout: a thread waits, holding a lock, for an event that only a task of the
event loop would set, and the loop's thread waits for that lock.

"flusher" takes the threading.Lock `db_lock` in a with block and waits on the
threading.Event `flushed`. Only the task "notifier", pending on the main thread's event
loop, sets it. The main task then takes `db_lock` synchronously inside a coroutine: the
loop's thread blocks in lock.acquire(), so the loop never resumes the notifier.

A diagnosis should find flusher's wait never ending, an error, with the lockout: the main
thread would end it with the notifier's set(), a task of the loop it runs, but it waits for
db_lock, which flusher holds while it waits. The blocked loop is reported too.
"""

import asyncio
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

db_lock = threading.Lock()
flushed = threading.Event()


def flush(holding):
    with db_lock:
        holding.set()
        flushed.wait()  # BLOCK:flusher


async def notify(started):
    await started.wait()  # BLOCK:notifier
    flushed.set()


def write():
    with db_lock:  # BLOCK:write
        return None


async def main(aio, holding):
    aio.register()
    asyncio.current_task().set_name("main")
    started = asyncio.Event()
    notifier = asyncio.ensure_future(notify(started))
    notifier.set_name("notifier")
    await asyncio.sleep(0)
    holding.wait()
    write()


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    holding = threading.Event()
    threading.Thread(target=flush, args=(holding,), name="flusher", daemon=True).start()
    h.watch(aio.blocked({"notifier": "notifier"}, {"MainThread": "write", "flusher": "flusher"}),
            expect={"lockout": {"kind": "abandoned-wait", "waiter": "flusher", "feeder": "MainThread",
                                "severity": "error", "also": ["blocked-event-loop"]}})
    asyncio.run(main(aio, holding))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
