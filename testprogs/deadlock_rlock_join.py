"""deadlock_rlock_join: a three-thread cycle through an RLock, a Lock and a join.

"indexer" takes the RLock `registry` twice (recursively) and then joins "loader";
"loader" waits for the Lock `cache_lock`; "warmer" holds `cache_lock` and waits for
`registry`. So: indexer -join-> loader -> cache_lock (held by warmer) -> registry (held by
indexer, count 2). A barrier makes every run form the cycle. The main thread joins indexer.

A diagnosis should find one deadlock over the three threads, with the RLock's owner read
from the RLock itself, the Lock's holder from warmer's `with` block, and the join edge.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

registry = threading.RLock()
cache_lock = threading.Lock()
holding = threading.Barrier(3)
threads = {}


def index():
    with registry:
        with registry:
            holding.wait()
            threads["loader"].join()  # BLOCK:indexer


def load():
    holding.wait()
    with cache_lock:  # BLOCK:loader
        pass


def warm():
    with cache_lock:
        holding.wait()
        with registry:  # BLOCK:warmer
            pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for name, target in (("indexer", index), ("loader", load), ("warmer", warm)):
        threads[name] = threading.Thread(target=target, name=name)
    for t in threads.values():
        t.start()
    h.watch({"indexer": "indexer", "loader": "loader", "warmer": "warmer", "MainThread": "main"},
            expect={
                "cycle_threads": ["indexer", "loader", "warmer"],
                "locks": ["registry", "cache_lock"],
                "rlock": {"name": "registry", "owner": "indexer", "count": 2},
                "join": {"waiter": "indexer", "target": "loader"},
            })
    threads["indexer"].join()  # BLOCK:main


if __name__ == "__main__":
    main()
