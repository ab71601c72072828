"""healthy_rlock_bare: an RLock a live thread took with a bare acquire() and holds while it waits.

"loader" takes the RLock `config` with acquire(), then waits for the Event `reload` (set
by the main thread's signal handler, on SIGHUP) before its release(). "applier" waits for
`config` in a with block, with no timeout. The main thread sleeps. The RLock's owner holds
it in no with block, but its frame stands between the acquire() and the release(): it
will give it back once it is told to reload. A diagnosis must report no finding (an RLock
left by its owner looks alike).
"""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

config = threading.RLock()
reload = threading.Event()
loaded = threading.Event()


def load():
    config.acquire()
    loaded.set()
    reload.wait()  # BLOCK:load
    config.release()


def apply():
    with config:  # BLOCK:apply
        pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    signal.signal(signal.SIGHUP, lambda *_: reload.set())
    threading.Thread(target=load, name="loader", daemon=True).start()
    loaded.wait()
    threading.Thread(target=apply, name="applier", daemon=True).start()
    h.watch({"loader": "load", "applier": "apply", "MainThread": "main"}, expect={"healthy": True})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
