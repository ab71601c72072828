"""signal_deadlock_loop: a SIGALRM handler takes the lock held by the loop it interrupted.

The main thread counts records in a loop under the Lock `stats_lock`; a SIGALRM handler
takes `stats_lock` too. The loop calls nothing, so the interpreter checks for the signal
on the loop's jump back to its head, and the handler runs on top of the loop, in the same
thread: it waits for a lock that only the code it interrupted can release.

From 3.11 on, the compiler leaves that backward jump out of the exception-table entry of
the `with` block around the loop, the entry that says which value-stack slots hold the
block's __exit__: the jump's loop head tells them instead.

A diagnosis should find a deadlock of one thread, in a SIGALRM handler, on the lock the
interrupted code holds: MainThread's frame `on_alarm` runs the handler and waits for
stats_lock; the frame below it (count_records) holds it in a with block.
"""

import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

stats_lock = threading.Lock()
stats = {"counted": 0}


def on_alarm(signum, frame):
    with stats_lock:  # BLOCK:handler
        print("progress: %d records" % stats["counted"])


def count_records():
    n = 0
    with stats_lock:  # SITE:held
        while n >= 0:  # SITE:interrupted  (no call: the signal is seen on the jump back)
            n += 1


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    signal.signal(signal.SIGALRM, on_alarm)
    # The watcher thread must not take the signal: the kernel would interrupt its sleep,
    # not the main thread's. Threads inherit the mask they are started with.
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
    h.watch({"MainThread": "handler"},
            expect={"cycle_threads": ["MainThread"], "locks": ["stats_lock"],
                    "signal": "SIGALRM", "handler": "on_alarm", "interrupted": "count_records",
                    "held_at": h.line("held"), "waits_at": h.line("handler")})
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGALRM])
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    count_records()


if __name__ == "__main__":
    main()
