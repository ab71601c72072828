"""gil_held_running: a thread runs native code that keeps the GIL, and never ends.

"matcher" matches a regular expression that backtracks without end, (a+)+$ against a run
of "a" followed by "b": the regex engine is C code that runs the whole match without
letting the GIL go (2**60 ways to split the run, so it never ends in practice). Three
"worker" threads run a Python loop: once the matcher holds the GIL they wait for it
forever. The main thread sleeps in time.sleep() (GIL released).

Nothing is blocked in the kernel: the matcher runs on a CPU and the workers wake every
switch interval (20 ms here) to ask it to let go. One snapshot cannot tell this from a busy program
whose threads take turns. A diagnosis of the live process should find gil-held-in-native,
a warning: it watches the GIL after the snapshot and sees it never change hands while
the workers wait. A core shows one instant only: no finding there.

No thread can run Python after the call, so the ready file is written just before it.
"""

import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

WORKERS = 3
BACKTRACKS = re.compile(r"(a+)+$")
SUBJECT = "a" * 60 + "b"
running = threading.Semaphore(0)


def work():
    running.release()
    n = 0
    while True:
        n = (n * 31 + 1) % 1000003  # BLOCK:work



def match_forever(h):
    for _ in range(WORKERS):
        running.acquire()
    main = threading.main_thread().native_id
    while not _harness.sleeping(main):
        time.sleep(0.01)
    # The workers wake every switch interval to ask the matcher to let go; at 20 ms
    # (the longest a diagnosis watches fifty of) they sleep in the kernel most of the
    # time, so that a snapshot of a loaded machine still catches some of them waiting.
    sys.setswitchinterval(0.02)
    h.about_to_block("match", expect={
        "gil_holder": "matcher",
        "gil_running": True,
        "live_only": True,
        "running": ["matcher"],
        "gil_waiters": ["worker-%d" % i for i in range(WORKERS)],
        "holder_python_function": "match_forever",
        "holder_line": h.line("match"),
    })
    BACKTRACKS.match(SUBJECT)  # BLOCK:match  never returns, and keeps the GIL


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for i in range(WORKERS):
        threading.Thread(target=work, name="worker-%d" % i, daemon=True).start()
    threading.Thread(target=match_forever, args=(h,), name="matcher", daemon=True).start()
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
