"""exit_finalizing: a hang while the interpreter is torn down. A daemon thread holds a lock
and waits forever. When the main program has ended, Py_FinalizeEx clears the modules, and
the __del__ of an object of one of them takes that lock: it blocks, inside the
finalization, forever. No watcher thread can run then, so __del__ writes the ready file
itself.

Expect: hang-at-exit, phase finalizing, run by MainThread, blocked on the lock `held`.
"""

import os
import sys
import threading
import types

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

held = threading.Lock()
holder_ready = threading.Event()
never_set = threading.Event()


def hold():
    with held:
        holder_ready.set()
        never_set.wait()  # BLOCK:holder


class Resource:
    """Releases itself at shutdown: the mistake is to wait for another thread there."""

    def __init__(self, harness):
        self.harness = harness

    def __del__(self, held=held):
        self.harness.blocking_now("finalizer", {"exit": {"phase": "finalizing", "thread": "MainThread", "lock": "held"}})
        held.acquire()  # BLOCK:finalizer


def main():
    p = _harness.parser(__doc__)
    args = p.parse_args()
    h = _harness.Harness(args)
    threading.Thread(target=hold, name="holder", daemon=True).start()
    holder_ready.wait()
    # A global of a module of its own: released when Py_FinalizeEx drops the
    # modules (not of __main__, whose globals the daemon thread's frame keeps).
    resources = types.ModuleType("exit_finalizing_resources")
    resources.resource = Resource(h)
    sys.modules[resources.__name__] = resources


if __name__ == "__main__":
    main()
