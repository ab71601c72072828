"""healthy_timeouts: threads that wait, every one with a timeout. Nothing is stuck.

"selector" waits in select() on a socket nobody writes to, with a timeout; "event",
"condition" and "queue" wait on an Event, a Condition and a Queue with timeouts; "gate"
retries acquire(timeout=…) on a Lock the main thread took with a bare acquire() before it
went to sleep; "left" and "right" take two locks in opposite orders, the second with acquire(timeout=…),
and back off (release the first, and retry) when it times out: a cycle of waits that a
timeout ends every time. The
main thread sleeps holding `gate`.

Every wait ends by itself: a diagnosis must report no deadlock and no orphaned lock
(nor any other finding).
"""

import os
import queue
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

WAIT = 600  # seconds: long beside a test, short beside forever

gate = threading.Lock()
first, second = threading.Lock(), threading.Lock()
both_hold = threading.Barrier(2)


def selector(sock):
    while True:
        select.select([sock], [], [], WAIT)  # BLOCK:select


def on_event(ev):
    while not ev.wait(WAIT):  # BLOCK:event
        pass


def on_condition(cond):
    with cond:
        while True:
            cond.wait(WAIT)  # BLOCK:condition


def on_queue(q):
    while True:
        try:
            q.get(timeout=WAIT)  # BLOCK:queue
        except queue.Empty:
            pass


def at_gate():
    while not gate.acquire(timeout=WAIT):  # BLOCK:gate
        pass
    gate.release()


def take(a, b):
    with a:
        both_hold.wait()  # both hold their first lock now
        if b.acquire(timeout=WAIT):  # BLOCK:order
            b.release()
            return
    while True:  # back off, let the other one through, and try again
        time.sleep(0.01)
        with a:
            if b.acquire(timeout=WAIT):
                b.release()
                return


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    gate.acquire()  # released when the main thread wakes up (never, in a test)
    near, far = socket.socketpair()
    cond = threading.Condition()
    spec = {"selector": "select", "event": "event", "condition": "condition", "queue": "queue",
            "gate": "gate", "left": "order", "right": "order", "MainThread": "sleep"}
    for name, target, args in [("selector", selector, (near,)), ("event", on_event, (threading.Event(),)),
                               ("condition", on_condition, (cond,)), ("queue", on_queue, (queue.Queue(),)),
                               ("gate", at_gate, ()), ("left", take, (first, second)),
                               ("right", take, (second, first))]:
        threading.Thread(target=target, args=args, name=name, daemon=True).start()
    h.watch(spec, expect={"healthy": True})
    time.sleep(3600)  # BLOCK:sleep
    gate.release()


if __name__ == "__main__":
    main()
