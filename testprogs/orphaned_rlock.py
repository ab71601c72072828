"""orphaned_rlock: an RLock still owned by a thread that has exited.

"loader" takes the RLock `registry` with a bare acquire(), fails before its release()
and dies (the exception ends the thread, and nothing releases an RLock for a dead
owner). Later "refresher" asks for `registry` and waits forever; the main thread
joins it.

A diagnosis should find an orphaned lock: registry's owner field names a thread that
no longer runs.

glibc hands a new thread the stack, and so the ident, of the thread that last died: a
refresher started right away would look like the owner and re-enter the RLock. So a
short-lived "keeper" thread takes the dead loader's ident while refresher starts, then
ends too: no live thread has the owner's ident any more.
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


def refresh():
    with registry:  # BLOCK:refresh
        pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.excepthook = lambda args: None  # the loader's death is expected
    loader = threading.Thread(target=load, name="loader")
    loader.start()
    loader.join()
    started = threading.Event()
    keeper = threading.Thread(target=started.wait, name="keeper")
    keeper.start()
    refresher = threading.Thread(target=refresh, name="refresher")
    refresher.start()
    started.set()
    keeper.join()
    if refresher.ident == loader.ident:
        sys.exit("refresher got the dead loader's thread ident; cannot show an orphaned RLock")
    h.watch({"refresher": "refresh", "MainThread": "main"},
            expect={"orphaned_rlock": "registry", "blocked": ["refresher"]})
    refresher.join()  # BLOCK:main


if __name__ == "__main__":
    main()
