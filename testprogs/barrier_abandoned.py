"""barrier_abandoned: two threads wait at a Barrier for a third that died on its way there.

Three "loader" threads each load one shard of a data set, then meet at the Barrier
`shards_loaded` (3 parties) before building the index together. The shard that "loader-2"
loads is missing: the exception ends that thread before it reaches the barrier. The two
others wait at the barrier for the third party forever; the main thread joins them.

A diagnosis should find an abandoned wait on shards_loaded: 2 of its 3 parties wait, one is
missing, no thread left can come, and loader-2 has ended.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

SHARDS = {"loader-0": "shard-0.bin", "loader-1": "shard-1.bin"}  # shard 2 is missing
shards_loaded = threading.Barrier(3)


def load():
    name = threading.current_thread().name
    data = SHARDS[name]  # loader-2 has no shard: KeyError ends the thread here
    shards_loaded.wait()  # BLOCK:barrier
    return data


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.excepthook = lambda args: None  # loader-2's death is the point
    loaders = [threading.Thread(target=load, name="loader-%d" % i) for i in range(3)]
    for t in loaders:
        t.start()
    h.watch({"loader-0": "barrier", "loader-1": "barrier", "MainThread": "join"},
            expect={"abandoned": "barrier", "object": "shards_loaded",
                    "waiters": ["loader-0", "loader-1"], "parties": 3, "waiting": 2,
                    "ended": ["loader-2"]})
    for t in loaders:
        t.join()  # BLOCK:join


if __name__ == "__main__":
    main()
