"""healthy_asyncio_io: an event loop waiting on I/O from a live peer. Nothing is wrong.

The main task reads from a stream whose other end a child process holds open and silent:
no callback is ready and no timer is set, but the loop watches the stream's descriptor, and
the peer may write at any time. A diagnosis must report no finding (the loop is not stuck,
only waiting). The child exits once this process is gone.
"""

import asyncio
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _aioharness  # noqa: E402
import _harness  # noqa: E402

PEER = """
import os, sys, time
parent = int(sys.argv[1])
while os.getppid() == parent:
    time.sleep(0.5)
"""


async def main(aio, sock):
    aio.register()
    asyncio.current_task().set_name("main")
    reader, writer = await asyncio.open_connection(sock=sock)
    reading = asyncio.ensure_future(reader.read(100))
    reading.set_name("reader")
    await reading  # BLOCK:wait


peer = None  # the child holding the other end (kept, so it is never reaped early)


def main_thread():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    aio = _aioharness.Tasks(h)
    ours, theirs = socket.socketpair()
    global peer
    peer = subprocess.Popen([sys.executable, "-c", PEER, str(os.getpid())], pass_fds=[theirs.fileno()])
    theirs.close()
    h.watch(aio.blocked({"main": "wait"}, {"MainThread": "main"}),
            expect=lambda snapshot: {"healthy": True, "tasks": aio.tasks()})
    asyncio.run(main(aio, ours))  # BLOCK:main


if __name__ == "__main__":
    main_thread()
