"""healthy_gil: look-alikes of a GIL held in native code. Nothing is wrong.

"sleeper" calls libc's pause() through ctypes.CDLL, which releases the GIL for the call: it
sits in C forever, but every other thread runs. Two "cruncher" threads run Python loops and
take turns with the GIL: at any instant one holds it and the other waits for it, briefly.
The main thread sleeps. A thread blocked in C without the GIL, and a thread that holds the
GIL while it runs bytecode, are no finding: a diagnosis must report none (exit 0).
(The crunchers' lines move, so the ready file's frames for them are only a sample.)
"""

import ctypes
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

libc = ctypes.CDLL(None)  # the process's own symbols: libc's pause(), GIL released
libc.pause.argtypes = []
libc.pause.restype = ctypes.c_int


def sleep_in_c():
    libc.pause()  # BLOCK:pause


def crunch():
    n = 0
    while True:
        n = (n * 31 + 1) % 1000003


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.Thread(target=sleep_in_c, name="sleeper", daemon=True).start()
    crunchers = ["cruncher-0", "cruncher-1"]
    for name in crunchers:
        threading.Thread(target=crunch, name=name, daemon=True).start()
    blocked = h.blocked({"sleeper": "pause", "MainThread": "main"})

    def ready(snapshot):
        watched = blocked(snapshot)
        for name in crunchers:
            t = [t for t in snapshot if t["name"] == name]
            if not t or h.own_frame(t[0]) is None or h.own_frame(t[0])["function"] != "crunch":
                raise _harness.NotReady("%s not crunching yet" % name)
        return watched  # the crunchers' stacks move: they are not ones to hold still

    h.watch(ready, expect={"healthy": True, "running": crunchers})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
