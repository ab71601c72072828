"""semaphore_leaked: a pool's semaphore loses its units to handlers that fail before release().

`slots` is a BoundedSemaphore(2) that bounds how many requests are handled at once. Each
handler takes a slot with a bare acquire() and gives it back with release() after the work;
"handler-0" and "handler-1" fail in between (the exception ends the thread) and never give
theirs back. "handler-2" and "handler-3" then wait in acquire() forever. The main thread
goes on serving (it sleeps between rounds), and could run any code, but the only release()
in the program follows an acquire() in the same function: only a thread that took a slot
gives one back, and none holds one.

A diagnosis should find the semaphore orphaned (orphaned-lock, cause units-leaked), naming
the bare acquire() and the release() that never ran, with the two waiting handlers.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

slots = threading.BoundedSemaphore(2)


def handle(n):
    slots.acquire()  # BLOCK:handle
    if n < 2:
        raise ConnectionError("request %d: the client went away" % n)  # the release() never runs
    slots.release()  # SITE:release


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.excepthook = lambda args: None  # the failures are expected
    for n in range(2):
        t = threading.Thread(target=handle, args=(n,), name="handler-%d" % n)
        t.start()
        t.join()
    for n in range(2, 4):
        threading.Thread(target=handle, args=(n,), name="handler-%d" % n, daemon=True).start()
    h.watch({"handler-2": "handle", "handler-3": "handle", "MainThread": "main"},
            expect={"orphaned_semaphore": "slots", "units": 2, "blocked": ["handler-2", "handler-3"],
                    "acquire_site": h.line("handle"), "release_site": h.line("release")})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
