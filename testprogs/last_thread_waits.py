"""last_thread_waits: the main thread waits for an Event that only a dead thread would set.

"loader" would set `loaded` when it is done, but fails before it does and ends. The main
thread then waits for `loaded`, without a timeout, as the process's only thread.

A diagnosis should find an abandoned wait on the event `loaded`, an error: no other thread
is left to set it, and the Thread object of "loader", which has ended, is named. That the
process is blocked for good (all-blocked, its only thread) is a note.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

loaded = threading.Event()


def load():
    raise RuntimeError("the plugin directory is gone")  # the set() below never runs
    loaded.set()


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.excepthook = lambda args: None  # the loader's death is expected
    loader = threading.Thread(target=load, name="loader")
    loader.start()
    loader.join()
    h.watch({"MainThread": "main"},
            expect={"abandoned": "event", "object": "loaded", "waiters": ["MainThread"],
                    "ended": ["loader"]})
    loaded.wait()  # BLOCK:main


if __name__ == "__main__":
    main()
