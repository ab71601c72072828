"""asyncio_call_soon_thread: a thread hands the loop a callback with call_soon().

The main task starts a thread ("worker") that computes a result and hands it to the loop
with `loop.call_soon(fut.set_result, ...)`, then awaits the future. call_soon() is not
thread-safe: it puts the callback in the loop's ready queue without waking the loop, which
sleeps in select() with no timeout (no timer, no descriptor but its self-pipe). The worker
ends; nothing else will ever wake the loop.

--worker-lives: the worker does not end: it sleeps between jobs it never gets, and could
still call into the loop.

A diagnosis should say the loop sleeps with a callback ready (Future.set_result) that only
a wake-up would run, and that call_soon_threadsafe() is the fix: an error when no other
thread can run, a warning when the worker lives on.
"""

import asyncio
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

lives = False
handed = threading.Event()


def worker(loop, fut):
    time.sleep(0.1)
    loop.call_soon(fut.set_result, 42)  # not thread-safe: the loop is not woken
    handed.set()
    while lives:
        time.sleep(3600)  # BLOCK:idle


async def main(aio):
    aio.register()
    asyncio.current_task().set_name("main")
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    threading.Thread(target=worker, args=(loop, fut), name="worker", daemon=True).start()
    return await fut  # BLOCK:await


def main_thread():
    global lives
    p = _harness.parser(__doc__)
    p.add_argument("--worker-lives", action="store_true")
    args = p.parse_args()
    lives = args.worker_lives
    h = _harness.Harness(args)
    aio = _aioharness.Tasks(h)
    threads = {"MainThread": "main"}
    if lives:
        threads["worker"] = "idle"
    tasks_ready = aio.blocked({"main": "await"}, threads)

    def ready(snapshot):
        if not handed.is_set():
            raise _harness.NotReady("the worker has not handed its result over yet")
        if not lives and any(t.name == "worker" for t in threading.enumerate()):
            raise _harness.NotReady("the worker has not ended yet")
        return tasks_ready(snapshot)

    h.watch(ready, expect=lambda snapshot: {"loop_asleep": {"error": not lives, "ready": ["Future.set_result"],
                                                            "tasks": ["main"]},
                                            "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
