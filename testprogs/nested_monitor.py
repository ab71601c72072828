"""nested_monitor: a thread waits on a Condition while it holds a Lock that the thread
that would notify it needs first ("nested monitor lockout").

"waiter" takes `registry` (a Lock, with block), then the Condition `changed`, and waits in
changed.wait() until `ready` is set. "notifier" would set it: it takes `registry`, then
`changed`, and calls changed.notify_all() a few lines on; but `registry` is held by waiter,
which wait() does not release (it releases only the Condition's own lock). An Event makes
sure waiter holds `registry` before notifier reaches for it. The main thread sleeps in a
`while True:` loop that does nothing else, as a server's does: it will never notify
`changed`, and nothing is all-blocked.

A Condition has no holder: what ends a wait on it is a notify() in another thread's code.
No thread that can run is left to notify it, so the waiter is starved, unless a signal
handler the sleeping main thread runs notifies it; only notifier's stack runs such code,
and notifier waits for the lock waiter holds. A diagnosis should find starved consumers,
a warning (reason main-sleeps: the program installs no signal handler, but pyhang does not
read the interpreter's table of them), with the lockout: waiter's notifier is notifier
(`lockouts`, at its notify_all() call).
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

registry = threading.Lock()
changed = threading.Condition()
waiting = threading.Event()
ready = False


def wait_for_change():
    with registry:
        with changed:
            waiting.set()
            while not ready:
                changed.wait()  # BLOCK:waiter


def announce_change():
    global ready
    waiting.wait()
    with registry:  # BLOCK:notifier
        with changed:
            ready = True
            changed.notify_all()


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for target, name in ((wait_for_change, "waiter"), (announce_change, "notifier")):
        threading.Thread(target=target, name=name, daemon=True).start()
    h.watch({"waiter": "waiter", "notifier": "notifier", "MainThread": "main"},
            expect={"lockout": {"kind": "starved-consumers", "waiter": "waiter", "feeder": "notifier",
                                "severity": "warning"}})
    while True:
        time.sleep(60)  # BLOCK:main


if __name__ == "__main__":
    main()
