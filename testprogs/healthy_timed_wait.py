"""healthy_timed_wait: long sleeps and a Condition wait with a timeout. Nothing is wrong.

The main thread takes turns: it sleeps for --phase seconds, then waits on a Condition with
a timeout of ten phases, which a "notifier" thread notifies once a phase. Every wait ends
by itself (a sleep, a wait with a timeout, the notifier's own sleep), so however
long each one lasts, the program is not hung: a diagnosis must report no finding, and
`pyhang run --hang-after` shorter than a phase must not call it hung. With --seconds S
the program exits (status 0) after S seconds; without it, it runs until killed.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

ticks = threading.Condition()
count = [0]


def tick(phase):
    while True:
        time.sleep(phase)  # BLOCK:tick
        with ticks:
            count[0] += 1
            ticks.notify()


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--phase", type=float, default=2.0, help="seconds each wait lasts")
    p.add_argument("--seconds", type=float, default=0, help="exit after this long (0: never)")
    args = p.parse_args()
    h = _harness.Harness(args)
    threading.Thread(target=tick, args=(args.phase,), name="notifier", daemon=True).start()
    h.watch({"MainThread": ("sleep", "wait"), "notifier": "tick"}, expect={"healthy": True})
    end = time.monotonic() + args.seconds if args.seconds else None
    while end is None or time.monotonic() < end:
        time.sleep(args.phase)  # BLOCK:sleep
        with ticks:
            seen = count[0]
            while count[0] == seen:
                ticks.wait(timeout=10 * args.phase)  # BLOCK:wait
    print("done")


if __name__ == "__main__":
    main()
