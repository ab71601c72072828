"""talk_http_pool: pool workers stuck reading HTTP responses that never come.

A poller fans ids 0..29 out to a ThreadPoolExecutor of 5 workers ("poller_N"); each GETs
http://127.0.0.1:PORT/<id> with urllib and no timeout, and the main thread prints results
with as_completed(). The backend (an http.server in a thread of this process, on an
ephemeral port) accepts every request but never answers ids 3, 7, 11, 15, 19: it keeps
those connections open and silent. Five such ids and five workers: every worker ends up
reading a socket forever, ids 20..29 wait in the pool's queue behind them, and the main
thread waits for their futures forever.

A diagnosis should find stuck-io over the five pool workers (socket reads with no timeout,
the peer 127.0.0.1:PORT, the silent URLs), the pool with all 5 workers stuck and 10 work
items waiting, the main thread waiting on their futures as a consequence, and no deadlock.
"""

import concurrent.futures
import http.server
import os
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

WORKERS = 5
IDS = range(30)
SILENT = [3, 7, 11, 15, 19]  # one per worker: the last is taken when the others are stuck


class Backend(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        item = int(self.path.strip("/"))
        if item in SILENT:
            self.server.silent.append(self.request)  # accepted, never answered
            return
        time.sleep(0.05)  # backend latency
        body = ("item %d\n" % item).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.HTTPServer):
    def __init__(self, address, handler):
        super().__init__(address, handler)
        self.silent = []  # connections accepted and never answered

    def shutdown_request(self, request):
        if request not in self.silent:  # keep the silent connections open
            super().shutdown_request(request)


def fetch(port, item):
    url = "http://127.0.0.1:%d/%d" % (port, item)
    return urllib.request.urlopen(url).read()  # BLOCK:fetch


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    # Talk straight to our own server even if the environment names an HTTP proxy.
    urllib.request.install_opener(urllib.request.build_opener(urllib.request.ProxyHandler({})))
    server = Server(("127.0.0.1", 0), Backend)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, args=(3600,), name="backend", daemon=True).start()

    pool = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="poller")
    futures = [pool.submit(fetch, port, item) for item in IDS]
    workers = ["poller_%d" % i for i in range(WORKERS)]
    blocked = h.blocked(dict({w: "fetch" for w in workers}, MainThread="main"))

    def stuck(snapshot):
        # A worker waiting for an answer that is on its way looks the same as a stuck one:
        # wait until every answerable id is answered and the five silent ones are parked.
        answered = sum(f.done() for f in futures)
        if answered != max(SILENT) + 1 - len(SILENT) or len(server.silent) != len(SILENT):
            raise _harness.NotReady("%d answered, %d silent" % (answered, len(server.silent)))
        return blocked(snapshot)

    h.watch(stuck, expect={
        "stuck_io": workers,
        "peer": "127.0.0.1:%d" % port,
        "silent_ids": SILENT,
        "urls": ["http://127.0.0.1:%d/%d" % (port, i) for i in SILENT],
        "pool_waiting": len(IDS) - max(SILENT) - 1,
        "dependents": ["MainThread"],
    })
    for future in concurrent.futures.as_completed(futures):  # BLOCK:main
        print(future.result().decode().strip())


if __name__ == "__main__":
    main()
