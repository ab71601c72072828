"""orphaned_rlock: an RLock still owned by a thread that has exited.

"loader" takes the RLock `registry` with a bare acquire(), fails before its release()
and dies (the exception ends the thread, and nothing releases an RLock for a dead
owner). Later "refresher" asks for `registry` and waits forever; the main thread
joins it.

A diagnosis should find an orphaned lock: registry's owner field names a thread that
no longer runs.

glibc may hand a new thread the stack, and so the ident, of a thread that died: such a
thread would look like the owner and simply re-enter the RLock. So a candidate
refresher that got the dead loader's ident is kept waiting (it becomes a "keeper")
until one with a fresh ident has started, then let through to re-enter and end.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

registry = threading.RLock()


def load():
    registry.acquire()  # SITE:acquire
    raise RuntimeError("the plugin directory is gone")  # the release() below never runs
    registry.release()


def refresh(go):
    go.wait()
    with registry:  # BLOCK:refresh
        pass


def start_refresher(loader_ident):
    """Start a refresher whose ident is not the dead loader's."""
    keepers = []
    for _ in range(50):
        go = threading.Event()
        t = threading.Thread(target=refresh, args=(go,), name="refresher")
        t.start()
        if t.ident != loader_ident:
            break
        t.name = "keeper"
        keepers.append((t, go))
    else:
        sys.exit("every new thread got the dead loader's ident")
    for k, kgo in keepers:  # they own the RLock in name: they re-enter it and end
        kgo.set()
        k.join()
    return t, go


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.excepthook = lambda args: None  # the loader's death is expected
    loader = threading.Thread(target=load, name="loader")
    loader.start()
    loader.join()
    refresher, go = start_refresher(loader.ident)
    go.set()
    h.watch({"refresher": "refresh", "MainThread": "main"},
            expect={"orphaned_rlock": "registry", "blocked": ["refresher"]})
    refresher.join()  # BLOCK:main


if __name__ == "__main__":
    main()
