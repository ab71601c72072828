"""healthy_event_signal: threads wait on an Event that a signal handler will set.

The program installs a SIGALRM handler that sets the Event `tick`, arms a timer
(setitimer, an hour), and then "waiter-0", "waiter-1" and the main thread itself wait on
`tick` with no timeout. No thread is left that would set it, but the handler will, on the
main thread: a blocked wait of the main thread is interrupted to run Python's handlers.

A diagnosis must report nothing: neither an abandoned wait (its setter is the handler,
code no thread runs now) nor every thread blocked for good.
"""

import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

tick = threading.Event()


def on_alarm(signum, frame):
    tick.set()


def wait():
    tick.wait()  # BLOCK:waiter


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 3600)
    for i in range(2):
        threading.Thread(target=wait, name="waiter-%d" % i, daemon=True).start()
    h.watch({"waiter-0": "waiter", "waiter-1": "waiter", "MainThread": "main"}, expect={"healthy": True})
    tick.wait()  # BLOCK:main


if __name__ == "__main__":
    main()
