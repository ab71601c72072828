"""orphaned_rlock_reused: an RLock owned by a dead thread whose ident a live thread now has.

"loader" takes the RLock `registry` with a bare acquire(), fails before its release() and
dies. glibc keeps the stack of a thread that ended and hands it to the next thread it
starts, and a thread's ident is the address of that stack's thread descriptor: "poller",
started next, gets the dead loader's ident (a candidate that does not is let go and
another started, until one does). Poller then waits on an Event nothing sets, holding
nothing. "refresher", started after it with an ident of its own, asks for `registry`
and waits forever; the main thread joins it.

The RLock's owner field names poller's ident, but no frame of poller holds it, and the
Thread object of the loader, which had that ident, has ended. A diagnosis should not
name poller as the holder: it should find a probably orphaned RLock (a warning) owned by
the ident loader had and poller has now, and refresher waiting for it.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

registry = threading.RLock()
never = threading.Event()
loader = None


def load():
    registry.acquire()  # SITE:acquire
    raise RuntimeError("the plugin directory is gone")  # the release() below never runs
    registry.release()


def poll(go, decided):
    go.wait()
    if decided["stay"]:
        never.wait()  # BLOCK:poll


def refresh():
    with registry:  # BLOCK:refresh
        pass


def start_poller(loader_ident):
    """Start a poller that got the dead loader's ident; a candidate that did not ends."""
    for _ in range(50):
        go, decided = threading.Event(), {"stay": False}
        t = threading.Thread(target=poll, args=(go, decided), name="poller", daemon=True)
        t.start()
        decided["stay"] = t.ident == loader_ident
        go.set()
        if decided["stay"]:
            return t
        t.join()
    sys.exit("no new thread got the dead loader's ident")


def main():
    global loader
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.excepthook = lambda args: None  # the loader's death is expected
    loader = threading.Thread(target=load, name="loader")
    loader.start()
    loader.join()
    poller = start_poller(loader.ident)
    refresher = threading.Thread(target=refresh, name="refresher")
    refresher.start()
    h.watch({"refresher": "refresh", "poller": "poll", "MainThread": "main"},
            expect={"orphaned_rlock": "registry", "blocked": ["refresher"],
                    "reused_by": "poller", "ended_thread": "loader"})
    refresher.join()  # BLOCK:main


if __name__ == "__main__":
    main()
