"""condition_reacquire: a notified consumer waits to take the condition's lock back.

"consumer" waits in `cv.wait()` (a Condition over an RLock) for an item in `box`.
"producer" takes `cv`, appends an item, calls `cv.notify()`, and then, still inside its
`with cv:` block, waits for the Event `stop`, which nobody sets. The consumer has been
notified: it is no longer waiting for a notification but for `cv`'s own lock, to return
from wait(), and the producer holds that lock. The main thread joins the consumer.

A diagnosis should find the producer's abandoned wait on `stop`, and show the consumer
waiting for the RLock `cv._lock` (held by the producer), not for a notification of `cv`:
no starved consumer.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

cv = threading.Condition()
box = []
stop = threading.Event()
waiting = threading.Event()


def consume():
    with cv:
        while not box:
            waiting.set()
            cv.wait()  # BLOCK:consumer
        box.pop()


def produce():
    waiting.wait()
    with cv:
        box.append(1)
        cv.notify()
        stop.wait()  # BLOCK:producer


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    consumer = threading.Thread(target=consume, name="consumer")
    consumer.start()
    threading.Thread(target=produce, name="producer").start()
    others = h.blocked({"producer": "producer", "MainThread": "join"})

    def ready(snapshot):
        watched = others(snapshot)
        consumer_t = [t for t in snapshot if t["name"] == "consumer"]
        own = h.own_frame(consumer_t[0]) if consumer_t else None
        # Notified, the consumer sits in Condition.wait() taking the lock back.
        if own is None or own["line"] != h.line("consumer") or consumer_t[0]["frames"][0]["function"] != "wait":
            raise _harness.NotReady("consumer not back in Condition.wait() yet")
        return watched + consumer_t

    h.watch(ready,
            expect={"abandoned": "event", "object": "stop", "waiters": ["producer"],
                    "waits_for": {"consumer": "cv._lock"}})
    consumer.join()  # BLOCK:join


if __name__ == "__main__":
    main()
