"""healthy_sleep: threads that sleep. Nothing is wrong.

Three "napper" threads and the main thread sit in time.sleep(). Sleeping threads are not
blocked on anything: a diagnosis must report no finding (exit 0).
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def nap():
    while True:
        time.sleep(3600)  # BLOCK:nap


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    names = ["napper-%d" % n for n in range(3)]
    for name in names:
        threading.Thread(target=nap, name=name, daemon=True).start()
    h.watch(dict({n: "nap" for n in names}, MainThread="main"), expect={"healthy": True})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
