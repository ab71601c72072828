"""gc_callback: a hang inside a garbage collection. A function in gc.callbacks waits for an
event nobody sets when a collection starts in the thread "collector", which runs
gc.collect(): the collection never ends. The main thread joins the collector.

Expect: hang-in-gc, in "collector", found by its gc.callbacks function on_gc.
"""

import gc
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

never_set = threading.Event()


def on_gc(phase, info):
    if phase == "start" and threading.current_thread().name == "collector":
        never_set.wait()  # BLOCK:gc


def collect():
    gc.collect()


def main():
    p = _harness.parser(__doc__)
    args = p.parse_args()
    h = _harness.Harness(args)
    gc.callbacks.append(on_gc)
    collector = threading.Thread(target=collect, name="collector", daemon=True)
    collector.start()
    h.watch({"collector": "gc", "MainThread": "main"},
            expect={"gc": {"thread": "collector", "callback": "on_gc"}})
    collector.join()  # BLOCK:main


if __name__ == "__main__":
    main()
