"""signal_deadlock: a SIGALRM handler takes the lock the code it interrupted holds.

The main thread saves its statistics under the Lock `stats_lock` (a `with` block around a
slow write). A SIGALRM handler, meant to report progress every so often, takes
`stats_lock` too. The alarm goes off while the main thread is inside its `with` block, so
the handler runs on top of that block, in the same thread, and waits for a lock that only
the code it interrupted can release: the thread waits on itself forever.

A diagnosis should find a deadlock of one thread, in a SIGALRM handler, on the lock the
interrupted code holds: MainThread's frame `on_alarm` runs the handler and waits for
stats_lock; the frame below it (save_stats) holds it in a with block.
"""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

stats_lock = threading.Lock()
stats = {"saved": 0}


def on_alarm(signum, frame):
    with stats_lock:  # BLOCK:handler
        print("progress: %d saves" % stats["saved"])


def save_stats():
    with stats_lock:  # SITE:held
        time.sleep(30)  # SITE:interrupted  (a slow write; the alarm comes in here)
        stats["saved"] += 1


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    signal.signal(signal.SIGALRM, on_alarm)
    # The watcher thread must not take the signal: the kernel would interrupt its sleep,
    # not the main thread's. Threads inherit the mask they are started with.
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
    h.watch({"MainThread": "handler"},
            expect={"cycle_threads": ["MainThread"], "locks": ["stats_lock"],
                    "signal": "SIGALRM", "handler": "on_alarm", "interrupted": "save_stats",
                    "held_at": h.line("held"), "waits_at": h.line("handler")})
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGALRM])
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    save_stats()


if __name__ == "__main__":
    main()
