"""exit_waits_thread: a hang at exit. A worker that is not a daemon waits for an event
nobody sets; the main program returns, and the interpreter waits for the worker forever
(Py_FinalizeEx calls threading._shutdown, which joins every non-daemon thread).

Expect: hang-at-exit, phase thread-shutdown, run by MainThread, waiting for "lingering".
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

never_set = threading.Event()


def linger():
    never_set.wait()  # BLOCK:lingering


def main():
    p = _harness.parser(__doc__)
    args = p.parse_args()
    h = _harness.Harness(args)
    worker = threading.Thread(target=linger, name="lingering")  # not a daemon
    worker.start()

    def at_exit(snapshot):
        named = {t["name"]: t for t in snapshot}
        main_thread, lingering = named.get("MainThread"), named.get("lingering")
        if main_thread is None or not main_thread["frames"] or main_thread["frames"][-1]["function"] != "_shutdown":
            raise _harness.NotReady("the main thread is not in threading._shutdown yet")
        if lingering is None or not h.is_blocked_at(lingering, "lingering"):
            raise _harness.NotReady("lingering is not blocked yet")
        return [main_thread, lingering]

    h.watch(at_exit, expect={"exit": {"phase": "thread-shutdown", "thread": "MainThread", "non_daemon": ["lingering"]}})
    # The program ends here; the interpreter then waits for "lingering".


if __name__ == "__main__":
    main()
