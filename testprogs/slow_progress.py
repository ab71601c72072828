"""slow_progress: a slow computation, waited for without a timeout. Nothing is wrong.

The main thread joins a "worker" thread (no timeout) that computes in pure Python, using
the CPU all along; no wait ends by itself, but the worker makes progress, so the program
is slow, not hung: `pyhang run --hang-after` shorter than the computation must not call it
hung. With --seconds S the worker stops computing after S seconds and the program exits
(status 0); without it, it computes until killed.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

result = []


def compute(seconds):
    end = time.monotonic() + seconds if seconds else None
    n, total = 0, 0
    while end is None or time.monotonic() < end:
        for i in range(10000):
            total += i * i % 7
        n += 1
    result.append((n, total))


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--seconds", type=float, default=0, help="compute this long, then exit (0: never)")
    args = p.parse_args()
    h = _harness.Harness(args)
    worker = threading.Thread(target=compute, args=(args.seconds,), name="worker")
    worker.start()
    h.watch({"MainThread": "join"}, expect={"healthy": True, "running": ["worker"]})
    worker.join()  # BLOCK:join
    print("done after %d rounds" % result[0][0])


if __name__ == "__main__":
    main()
