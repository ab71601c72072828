"""healthy_rlock: an RLock held recursively by a live thread; another polls it with a timeout.

"holder" takes the RLock `registry` twice and then sleeps holding it (it is doing its long
job). "poller" tries `registry.acquire(timeout=5)` in a loop and does other work when it
times out. The main thread sleeps. Nobody waits forever, so a diagnosis must report no
finding: holding a lock while sleeping is slow, not stuck, and a wait with a timeout ends.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

registry = threading.RLock()
holding = threading.Event()
timeouts = []


def hold():
    with registry:
        with registry:
            holding.set()
            time.sleep(3600)  # BLOCK:holding


def poll():
    while True:
        if registry.acquire(timeout=5):  # BLOCK:polling
            registry.release()
        else:
            timeouts.append(time.monotonic())


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    holder = threading.Thread(target=hold, name="holder", daemon=True)
    holder.start()
    holding.wait()
    threading.Thread(target=poll, name="poller", daemon=True).start()
    h.watch({"holder": "holding", "poller": "polling", "MainThread": "main"},
            expect={"healthy": True, "rlock": {"name": "registry", "owner": "holder", "count": 2}})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
