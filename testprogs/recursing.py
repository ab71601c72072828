"""recursing: the main thread recurses and returns without a pause, other threads wait.

The main thread calls climb(DEPTH) over and over: climb recurses DEPTH levels, calls
settle at the bottom, and returns all the way up, so its stack keeps growing and shrinking
under any look at it. "waiter-lock", "waiter-event" and "sleeper" block. A live dump taken
at any instant must show the main thread's stack whole and of that instant: `<module>`
outermost, then main and churn at their call lines, then climb frames all at the
recursive call except the innermost one, then at most a settle frame, never more than
DEPTH + 1 climb frames, no frame twice. A stack spliced from two moments breaks one of
these. expect.recursion gives the lines to check against.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

DEPTH = 24

held = threading.Lock()
never = threading.Event()


def climb(n):
    if n == 0:
        return settle()  # SITE:bottom
    return climb(n - 1) + 1  # SITE:recurse


def settle():
    total = 0
    for i in range(20):
        total += i
    return total  # SITE:settle-end


def churn():
    while True:
        climb(DEPTH)  # SITE:churn


def wait_lock():
    held.acquire()  # BLOCK:lock


def wait_event():
    never.wait()  # BLOCK:event


def sleep_long():
    time.sleep(3600)  # BLOCK:sleep


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    held.acquire()
    for name, fn in (("waiter-lock", wait_lock), ("waiter-event", wait_event), ("sleeper", sleep_long)):
        threading.Thread(target=fn, name=name, daemon=True).start()
    blocked = h.blocked({"waiter-lock": "lock", "waiter-event": "event", "sleeper": "sleep"})

    def ready(snapshot):
        watched = blocked(snapshot)
        mains = [t for t in snapshot if t["main"]]
        if not mains or not any(f["function"] == "climb" for f in mains[0]["frames"]):
            raise _harness.NotReady("main thread not recursing yet")
        return watched  # the main thread's stack moves all the time

    h.watch(ready, expect={
        "running": ["MainThread"],
        "recursion": {
            "depth": DEPTH,
            "module": h.line("module"), "main": h.line("main"), "churn": h.line("churn"),
            "recurse": h.line("recurse"), "bottom": h.line("bottom"),
            "climb_first": climb.__code__.co_firstlineno, "settle_first": settle.__code__.co_firstlineno,
            "settle_end": h.line("settle-end"),
        },
    })
    churn()  # SITE:main


if __name__ == "__main__":
    main()  # SITE:module
