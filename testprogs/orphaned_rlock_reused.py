"""orphaned_rlock_reused: an RLock owned by a dead thread whose ident a live thread now has.

"loader" takes the RLock `registry` with a bare acquire(), fails before its release() and
dies. glibc keeps the stack of a thread that ended and hands it to the next thread it
starts, and a thread's ident is the address of that stack's thread descriptor: "poller",
started once the loader's OS thread is gone, gets the dead loader's ident (a candidate
that does not is kept aside while another starts, and let go once one does). Poller then waits on an Event nothing sets (a timed wait, in a loop), holding
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
import time

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
        while not never.wait(3600):  # BLOCK:poll
            pass


def refresh():
    with registry:  # BLOCK:refresh
        pass


def wait_gone(native_id):
    """Wait until the OS thread has exited: only then is its stack back in glibc's cache.

    join() returns when the Python thread is done, a moment before its OS thread ends."""
    task = "/proc/self/task/%d" % native_id
    for _ in range(1000):
        if not os.path.exists(task):
            return
        time.sleep(0.01)
    sys.exit("thread %d did not exit" % native_id)


def start_poller(loader_ident):
    """Start a poller that got the dead loader's ident.

    A candidate that did not stays alive until one does: had it ended, its own stack would
    be the next one glibc hands out, ahead of the loader's."""
    misses = []
    for _ in range(50):
        go, decided = threading.Event(), {"stay": False}
        t = threading.Thread(target=poll, args=(go, decided), name="poller", daemon=True)
        t.start()
        if t.ident == loader_ident:
            decided["stay"] = True
            go.set()
            break
        misses.append((t, go))
    else:
        sys.exit("no new thread got the dead loader's ident")
    for miss, go in misses:
        go.set()
        miss.join()
        wait_gone(miss.native_id)
    return t


def main():
    global loader
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.excepthook = lambda args: None  # the loader's death is expected
    loader = threading.Thread(target=load, name="loader")
    loader.start()
    loader.join()
    wait_gone(loader.native_id)
    poller = start_poller(loader.ident)
    refresher = threading.Thread(target=refresh, name="refresher")
    refresher.start()
    h.watch({"refresher": "refresh", "poller": "poll", "MainThread": "main"},
            expect={"orphaned_rlock": "registry", "blocked": ["refresher"],
                    "reused_by": "poller", "ended_thread": "loader"})
    refresher.join()  # BLOCK:main


if __name__ == "__main__":
    main()
