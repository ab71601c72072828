"""select_no_timeout: a client polls its non-blocking socket with no timeout, and the
server never answers.

A server thread in this process accepts connections and never writes to them. The thread
"client" connects, makes its socket non-blocking (a timeout of 0), sends a request and
waits for the reply in select.select() with no timeout. The socket's own timeout bounds
nothing here: the select() has none. The thread "looper" runs an event loop of its own:
it selects, with no timeout either, on its non-blocking connection and on a wake-up pipe
any thread may write to; it is not stuck. The main thread sleeps.

A diagnosis of the live process should report stuck I/O: "client" polls a connected
socket with no timeout, and nothing but the peer can end it. From a core, which does not
record the sockets' state, no problem is proven, and none may be claimed.
"""

import os
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

accepted = []


def serve(listener):
    while True:
        conn, _ = listener.accept()  # BLOCK:accept
        accepted.append(conn)  # kept open, never answered


def connect(port):
    conn = socket.create_connection(("127.0.0.1", port))
    conn.setblocking(False)
    return conn


def fetch(port):
    conn = connect(port)
    conn.send(b"GET /status\n")
    select.select([conn], [], [])  # BLOCK:client
    return conn.recv(4096)


def loop(port, wakeup):
    conn = connect(port)
    while True:
        ready, _, _ = select.select([conn, wakeup], [], [])  # BLOCK:looper
        if wakeup in ready:
            os.read(wakeup, 64)


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    wake_r, wake_w = os.pipe()  # noqa: F841 (the write end kept: any thread may wake the loop)
    threading.Thread(target=serve, args=(listener,), name="server", daemon=True).start()
    threading.Thread(target=fetch, args=(port,), name="client", daemon=True).start()
    threading.Thread(target=loop, args=(port, wake_r), name="looper", daemon=True).start()
    blocked = h.blocked({"server": "accept", "client": "client", "looper": "looper", "MainThread": "main"})

    def ready(snapshot):
        if len(accepted) < 2:
            raise _harness.NotReady("the server has not accepted both connections yet")
        return blocked(snapshot)

    h.watch(ready, expect={"stuck_io": ["client"], "live_only": True})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
