"""asyncio_event_stall: tasks wait on events that only the other would set.

A handshake written the wrong way round: "client" waits for `server_ready` before it sets
`client_ready`, and "server" waits for `client_ready` before it sets `server_ready`. The
main task gathers both. Nothing else is scheduled: no callback, no timer, no file descriptor
but the loop's own self-pipe, no other thread.

No lock is held, so there is no cycle of holds; but the loop can never run anything again.
A diagnosis should find a deadlock of the event loop over its three tasks: client waits for
the event server_ready, server for client_ready, the task main for the gather().

With --wait-for-none the client waits through asyncio.wait_for(..., timeout=None): a
timeout of None is none, and the answer is the same.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

server_ready = None
client_ready = None
wait_for_none = False


async def client():
    if wait_for_none:
        await asyncio.wait_for(server_ready.wait(), timeout=None)  # BLOCK:client_wait_for
    else:
        await server_ready.wait()  # BLOCK:client
    client_ready.set()


async def server():
    await client_ready.wait()  # BLOCK:server
    server_ready.set()


async def main(aio):
    global server_ready, client_ready
    aio.register()
    asyncio.current_task().set_name("main")
    server_ready, client_ready = asyncio.Event(), asyncio.Event()
    c = asyncio.ensure_future(client())
    s = asyncio.ensure_future(server())
    c.set_name("client")
    s.set_name("server")
    await asyncio.gather(c, s)  # BLOCK:gather


def main_thread():
    global wait_for_none
    p = _harness.parser(__doc__)
    p.add_argument("--wait-for-none", action="store_true", help="the client waits in wait_for(..., timeout=None)")
    h = _harness.Harness(p.parse_args())
    wait_for_none = h.args.wait_for_none
    aio = _aioharness.Tasks(h)
    client_at = "client_wait_for" if wait_for_none else "client"
    h.watch(aio.blocked({"client": client_at, "server": "server", "main": "gather"}, {"MainThread": "main"}),
            expect=lambda snapshot: {"loop_stall": ["main", "client", "server"],
                                     "events": ["client_ready", "server_ready"], "tasks": aio.tasks()})
    asyncio.run(main(aio))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
