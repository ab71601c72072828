"""signal_logging: a SIGALRM handler logs while the code it interrupted is inside the same
logging handler.

The program logs through `sink`, a logging.Handler whose lock is a plain Lock (its
createLock() makes a threading.Lock; logging's own is an RLock). Its emit() is slow. A
SIGALRM handler, meant to report progress, logs too. The alarm goes off while the main
thread is inside Handler.handle(), which holds the handler's lock around emit(): the
signal handler's log call reaches the same Handler.handle() and waits for that lock, on
top of the code that holds it, in the same thread.

A diagnosis should find a deadlock of one thread in a SIGALRM handler: on_alarm waits for
the handler's lock, which Handler.handle(), below the interrupted emit(), holds. Logging
takes the lock with a with block from 3.13 (a proven hold), and through its own acquire()
and release() wrappers before (a hold inferred from where handle() stands: probable).
"""

import logging
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


class SlowSink(logging.Handler):
    def createLock(self):
        self.lock = threading.Lock()  # not re-entrant

    def emit(self, record):
        time.sleep(30)  # SITE:interrupted  (a slow write; the alarm comes in here)
        self.format(record)


log = logging.getLogger("app")
log.setLevel(logging.INFO)
log.propagate = False
sink = SlowSink()
log.addHandler(sink)


def on_alarm(signum, frame):
    log.warning("progress report")  # BLOCK:handler


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    signal.signal(signal.SIGALRM, on_alarm)
    # The watcher thread must not take the signal. Threads inherit the mask they start with.
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])

    def ready(snapshot):
        main = [t for t in snapshot if t["main"]]
        # Innermost, logging takes the lock: Handler.acquire()'s self.lock.acquire()
        # up to 3.12, Handler.handle()'s with self.lock: from 3.13.
        if not main or not any(f["function"] == "on_alarm" for f in main[0]["frames"]) or \
                main[0]["frames"][0]["function"] not in ("acquire", "handle"):
            raise _harness.NotReady("the handler does not wait for the lock yet")
        return main

    h.watch(ready, expect={"cycle_threads": ["MainThread"], "locks": ["sink.lock"], "signal": "SIGALRM",
                           "handler": "on_alarm", "interrupted": "emit", "holder_frame": "handle",
                           "probable": sys.version_info < (3, 13)})
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGALRM])
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    log.info("saving")


if __name__ == "__main__":
    main()
