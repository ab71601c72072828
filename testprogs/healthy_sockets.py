"""healthy_sockets: sockets that wait, none of them stuck.

A server in this process listens on an ephemeral port of 127.0.0.1:
- "acceptor" waits in accept() on the listening socket (no timeout: a server waiting for
  clients);
- "selector" waits in select() on the same listening socket, with no timeout;
- "http" is an http.server idle in serve_forever(), polling its own listening socket;
- "reader" has connected to the server and reads with a one-hour socket timeout; the
  server accepted the connection and never writes to it;
- a ThreadingHTTPServer's handler thread (HTTP/1.1, keep-alive) reads, without a timeout,
  the request of a client that connected and has sent nothing yet: a server waiting for
  its client.
- "waker-reader" reads, without a timeout, one half of a socketpair whose other half
  "waker" writes to now and then: a wake-up channel between two threads of this process.
The main thread sleeps. Every wait either has a timeout, is a server's wait for clients or
is one a thread of this process ends: a diagnosis must report no finding (stuck-io looks
alike).
"""

import http.server
import os
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

accepted = []


def accept(listener):
    while True:
        conn, _ = listener.accept()  # BLOCK:accept
        accepted.append(conn)  # kept open, never answered


def wait_readable(listener):
    while True:
        select.select([listener], [], [])  # BLOCK:select
        time.sleep(0.1)  # the acceptor takes the client


def read(port):
    conn = socket.create_connection(("127.0.0.1", port))
    conn.settimeout(3600)
    while True:
        data = conn.recv(1)  # BLOCK:recv
        if not data:
            return


def wake_reader(sock):
    while True:
        sock.recv(1)  # BLOCK:wake


def waker(sock):
    while True:
        time.sleep(3600)
        sock.send(b"!")


class Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass


class KeptAlive(Quiet):
    protocol_version = "HTTP/1.1"


def handler_thread(snapshot):
    """The keep-alive server's handler thread, once it waits for the request."""
    for t in snapshot:
        if any(f["function"] == "finish_request" for f in t["frames"]) and \
                _harness.library_line_blocks(t["frames"][0]):
            return t
    raise _harness.NotReady("the keep-alive handler does not wait for its client yet")


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=accept, args=(listener,), name="acceptor", daemon=True).start()
    threading.Thread(target=wait_readable, args=(listener,), name="selector", daemon=True).start()
    threading.Thread(target=httpd.serve_forever, name="http", daemon=True).start()
    threading.Thread(target=read, args=(port,), name="reader", daemon=True).start()
    kept = http.server.ThreadingHTTPServer(("127.0.0.1", 0), KeptAlive)
    threading.Thread(target=kept.serve_forever, name="keepalive-server", daemon=True).start()
    client = socket.create_connection(kept.server_address)  # noqa: F841 (kept open, silent)
    wake_r, wake_w = socket.socketpair()
    threading.Thread(target=wake_reader, args=(wake_r,), name="waker-reader", daemon=True).start()
    threading.Thread(target=waker, args=(wake_w,), name="waker", daemon=True).start()

    def ready(snapshot):
        if not accepted:
            raise _harness.NotReady("the reader's connection is not accepted yet")
        named = {t["name"]: t for t in snapshot}
        http_thread = named.get("http")
        if http_thread is None or not _harness.library_line_blocks(http_thread["frames"][0]):
            raise _harness.NotReady("the http server is not idle yet")
        return h.blocked({"acceptor": "accept", "selector": "select", "reader": "recv",
                          "waker-reader": "wake", "MainThread": "main"})(snapshot) + [http_thread, handler_thread(snapshot)]

    h.watch(ready, expect={"healthy": True})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
