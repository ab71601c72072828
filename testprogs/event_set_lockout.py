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


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    cache = Cache()
    for target, name in ((cache.get, "reader"), (cache.load, "loader")):
        threading.Thread(target=target, name=name, daemon=True).start()
    h.watch({"reader": "reader", "loader": "loader", "MainThread": "main"},
            expect={"cycle_threads": ["reader", "loader"], "locks": ["Cache.loaded", "Cache.lock"],
                    "probable": True, "probable_basis": "feed-site", "severity": "warning"})
    while True:
        time.sleep(60)  # BLOCK:main


if __name__ == "__main__":
    main()
