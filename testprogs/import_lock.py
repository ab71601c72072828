"""import_lock: a thread started during an import imports the module being imported.

The main thread imports _warmup_plugin. At import time that module starts a "warmer"
thread and joins it; the warmer's function imports _warmup_plugin again. The main thread
owns the module's import lock (importlib._bootstrap._ModuleLock, whose `owner` field
names it) until the import ends, so the warmer waits for that lock forever, and the main
thread waits for the warmer forever.

A diagnosis should find a deadlock of two threads through the module's import lock:
warmer waits for the import lock of _warmup_plugin, owned by MainThread, which joins
warmer.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def in_frames(thread, function, file_suffix):
    return any(f["function"] == function and f["file"].endswith(file_suffix) for f in thread["frames"])


def ready(snapshot):
    named = {t["name"]: t for t in snapshot}
    warmer, main = named.get("warmer"), named.get("MainThread")
    if warmer is None or main is None:
        raise _harness.NotReady("no warmer thread yet")
    # The warmer waits inside importlib for the module lock; the main thread joins it
    # from the module's top level.
    # importlib runs frozen: its source is not there to read, so the innermost frame is
    # checked by name (_ModuleLock.acquire, which waits on the lock's wakeup lock).
    inner = warmer["frames"][0]
    if not in_frames(warmer, "_warm", "_warmup_plugin.py") or inner["function"] != "acquire" \
            or inner["file"] != "<frozen importlib._bootstrap>":
        raise _harness.NotReady("warmer not blocked (at %s)" % _harness.where(warmer))
    if not in_frames(main, "<module>", "_warmup_plugin.py") or not _harness.library_line_blocks(main["frames"][0]):
        raise _harness.NotReady("main thread not blocked in the import (at %s)" % _harness.where(main))
    return [warmer, main]


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    h.watch(ready, expect={"cycle_threads": ["MainThread", "warmer"], "module": "_warmup_plugin",
                           "import_lock_owner": "MainThread", "import_waiter": "warmer"})
    import _warmup_plugin  # noqa: F401  # BLOCK:import


if __name__ == "__main__":
    main()
