"""event_set_lockout: a thread waits for an Event while it holds the RLock that the thread
which would set the Event takes first; both are attributes of one object.

`Cache.get()` takes self.lock (an RLock, with block) and waits in self.loaded.wait() for
the first load; `Cache.load()` takes self.lock too before it calls self.loaded.set(). The
"reader" thread is in get(), the "loader" thread in load(), blocked on the RLock, which
reader owns. The main thread sleeps in a loop that does nothing else.

The loader's stack runs code that sets `Cache.loaded`, and it waits for the RLock the
reader holds. A diagnosis should find a deadlock between reader and loader through
Cache.loaded and Cache.lock, probable (basis feed-site), a warning. (No abandoned wait:
that an event is never set is said only when proven, and the sleeping main thread may
yet run a signal handler.)

With --retry both wait with a timeout, each in a while loop that makes the wait again: the
reader waits for Cache.loaded a second at a time inside its with block of the RLock, the
loader tries to take the RLock a second at a time. Neither timeout ends anything: the
same probable deadlock, with both loops (details.retries) named.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


class Cache:
    def __init__(self):
        self.lock = threading.RLock()
        self.loaded = threading.Event()
        self.reading = threading.Event()
        self.value = None

    def get(self):
        with self.lock:
            self.reading.set()
            self.loaded.wait()  # BLOCK:reader
            return self.value

    def load(self):
        self.reading.wait()
        with self.lock:  # BLOCK:loader
            self.value = 42
            self.loaded.set()

    def get_retrying(self):
        with self.lock:
            self.reading.set()
            while not self.loaded.wait(timeout=1):  # BLOCK:reader_retry
                pass
            return self.value

    def load_retrying(self):
        self.reading.wait()
        while not self.lock.acquire(timeout=1):  # BLOCK:loader_retry
            pass
        try:
            self.value = 42
            self.loaded.set()
        finally:
            self.lock.release()


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--retry", action="store_true", help="both wait with a timeout, in a loop")
    h = _harness.Harness(p.parse_args())
    retry = h.args.retry
    cache = Cache()
    get, load = (cache.get_retrying, cache.load_retrying) if retry else (cache.get, cache.load)
    for target, name in ((get, "reader"), (load, "loader")):
        threading.Thread(target=target, name=name, daemon=True).start()
    expect = {"cycle_threads": ["reader", "loader"], "locks": ["Cache.loaded", "Cache.lock"],
              "probable": True, "probable_basis": "feed-site", "severity": "warning"}
    markers = {"reader": "reader", "loader": "loader"}
    if retry:
        markers = {"reader": "reader_retry", "loader": "loader_retry"}
        expect["retry_lines"] = {"reader": h.line("reader_retry"), "loader": h.line("loader_retry")}
    h.watch(dict(markers, MainThread="main"), expect=expect)
    while True:
        time.sleep(60)  # BLOCK:main


if __name__ == "__main__":
    main()
