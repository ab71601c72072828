"""_warmup_plugin: a module that warms a cache in a thread while it is being imported.

Imported by import_lock.py (not a program of its own). At import time it starts a
"warmer" thread and waits for it to finish; the thread's function imports this very
module (a lazy import, as code that moves helpers between modules often does). The
importing thread holds the module's import lock until the import ends, so the warmer
waits for that lock, and the import waits for the warmer: neither ever moves.
"""

import threading

CACHE = {}


def _warm():
    import _warmup_plugin  # the module lock is the importer's until the import ends

    _warmup_plugin.CACHE["ready"] = True


_warmer = threading.Thread(target=_warm, name="warmer")
_warmer.start()
_warmer.join()  # the importer waits here, holding the module's import lock
