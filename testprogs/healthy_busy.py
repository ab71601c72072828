"""healthy_busy: one thread computes, another waits with a timeout.

"cruncher" runs a pure-Python CPU loop (it holds or wants the GIL all the time); "waiter"
waits on the Event `stop` with a 5 s timeout, in a loop, checking in between. The main
thread sleeps. A busy thread is progress, and a wait with a timeout ends: a diagnosis must
report no finding. (cruncher's line moves, so the ready file's frames for it are only a
sample; its function is always crunch.)
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

stop = threading.Event()
checks = []


def crunch():
    total = 0
    n = 0
    while not stop.is_set():
        n += 1
        total = (total * 31 + n) % 1000003
    return total


def wait_for_stop():
    while not stop.wait(timeout=5):  # BLOCK:waiting
        checks.append(time.monotonic())


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.Thread(target=crunch, name="cruncher", daemon=True).start()
    threading.Thread(target=wait_for_stop, name="waiter", daemon=True).start()
    blocked = h.blocked({"waiter": "waiting", "MainThread": "main"})

    def ready(snapshot):
        watched = blocked(snapshot)
        cruncher = [t for t in snapshot if t["name"] == "cruncher"]
        if not cruncher or h.own_frame(cruncher[0]) is None \
                or h.own_frame(cruncher[0])["function"] != "crunch":
            raise _harness.NotReady("cruncher not crunching yet")
        return watched  # cruncher's stack moves: it is not one to hold still

    h.watch(ready, expect={"healthy": True, "running": ["cruncher"], "running_function": "crunch"})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
