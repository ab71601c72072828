"""asyncio_blocking_call: a coroutine makes a blocking socket call on the loop's thread.

The main task reads a reply with a plain, blocking `sock.recv()` (no timeout) from a socket
whose peer is alive but never answers, instead of awaiting the loop's own reader. The loop's
thread sits in recvfrom, and the tasks "heartbeat" and "worker" (waiting on a short sleep
and an event) can never run.

A diagnosis should find a blocked-event-loop: the loop's thread MainThread is blocked on the
socket, in the task main whose coroutine is main(), with 2 other tasks starved; no deadlock
and no orphaned lock.
"""

import asyncio
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

# The peer end stays open, so the read can wait forever.
ours, peer = socket.socketpair()


async def heartbeat():
    while True:
        await asyncio.sleep(0.05)  # BLOCK:beat


async def work(go):
    await go.wait()  # BLOCK:work


def read_reply(sock):
    return sock.recv(4096)  # BLOCK:recv


async def main(aio):
    aio.register()
    asyncio.current_task().set_name("main")
    go = asyncio.Event()
    beat = asyncio.ensure_future(heartbeat())
    worker = asyncio.ensure_future(work(go))
    beat.set_name("heartbeat")
    worker.set_name("worker")
    await asyncio.sleep(0.1)
    read_reply(ours)


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    h.watch(aio.blocked({"heartbeat": "beat", "worker": "work"}, {"MainThread": "recv"}),
            expect=lambda snapshot: {"blocked_loop": {"thread": "MainThread", "task": "main", "coro": "main",
                                                      "starved": 2},
                                     "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
