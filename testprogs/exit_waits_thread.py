"""exit_waits_thread: a hang at exit. A worker that is not a daemon waits for an event
nobody sets; the main program returns, and the interpreter waits for the worker forever
(Py_FinalizeEx calls threading._shutdown, which joins every non-daemon thread).

Expect: hang-at-exit, phase thread-shutdown, run by MainThread, waiting for "lingering".

With --holder-sleeps (a negative control) "lingering" waits instead for `cache`, a lock
that "migrate", another non-daemon thread, holds while it sleeps (an hour, with a
timeout): migrate will let it go, and the exit will end. Expect hang-at-exit only as info,
not stuck, and nothing else.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

never_set = threading.Event()
cache = threading.Lock()
holding = threading.Event()


def linger():
    never_set.wait()  # BLOCK:lingering


def read_cache():
    with cache:  # BLOCK:reading
        pass


def migrate():
    with cache:
        holding.set()
        time.sleep(3600)  # BLOCK:migrate


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--holder-sleeps", action="store_true", help="wait for a lock a sleeping thread holds")
    args = p.parse_args()
    h = _harness.Harness(args)
    marker = "lingering"
    if args.holder_sleeps:
        threading.Thread(target=migrate, name="migrate").start()  # not a daemon
        holding.wait()
        worker = threading.Thread(target=read_cache, name="lingering")
        marker = "reading"
    else:
        worker = threading.Thread(target=linger, name="lingering")  # not a daemon
    worker.start()

    def at_exit(snapshot):
        named = {t["name"]: t for t in snapshot}
        main_thread, lingering = named.get("MainThread"), named.get("lingering")
        if main_thread is None or not main_thread["frames"] or main_thread["frames"][-1]["function"] != "_shutdown":
            raise _harness.NotReady("the main thread is not in threading._shutdown yet")
        if lingering is None or not h.is_blocked_at(lingering, marker):
            raise _harness.NotReady("lingering is not blocked yet")
        return [main_thread, lingering]

    if args.holder_sleeps:
        expect = {"healthy": True, "exit": {"phase": "thread-shutdown", "thread": "MainThread",
                                            "non_daemon": ["lingering", "migrate"], "moving": True}}
    else:
        expect = {"exit": {"phase": "thread-shutdown", "thread": "MainThread", "non_daemon": ["lingering"]}}
    h.watch(at_exit, expect=expect)
    # The program ends here; the interpreter then waits for "lingering".


if __name__ == "__main__":
    main()
