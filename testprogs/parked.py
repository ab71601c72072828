"""parked: the dump oracle. Many threads parked at the bottom of deep, varied stacks.

Each worker ("worker-0", "worker-1", ...) recurses --depth levels through every kind of
frame: a plain function, a method (Walker.method), a closure (closure.<locals>.inner), a
lambda, a generator being iterated, a frame inside `with lock:`. Then it blocks in one of
these, by turns: Lock.acquire on a lock the main thread holds, Event.wait, Queue.get,
Condition.wait, socket recv, select on a pipe, Thread.join of worker-0, time.sleep.
"locals-thread" goes as deep and sleeps with recognisable locals in its innermost frame.
The main thread holds `held_by_main` and joins worker-0. Nothing ever wakes up.

A dump must show every thread's stack as the ready file records it. expect.blocking names
each worker's way of blocking; expect.locals holds the repr of every local of
locals-thread's innermost frame. `--threads 200 --depth 100` is the benchmark target.
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

held_by_main = threading.Lock()
never_set = threading.Event()
empty_queue = queue.Queue()
nobody_notifies = threading.Condition()
quiet_socket, quiet_peer = socket.socketpair()
pipe_read, pipe_write = os.pipe()
workers = []
locals_seen = {}


# The ways to block, one per worker in turn: each is the bottom of a worker's stack.

def wait_for_lock():
    held_by_main.acquire()  # BLOCK:lock


def wait_for_event():
    never_set.wait()  # BLOCK:event


def wait_for_queue():
    empty_queue.get()  # BLOCK:queue


def wait_for_condition():
    with nobody_notifies:
        nobody_notifies.wait()  # BLOCK:condition


def wait_for_socket():
    quiet_socket.recv(1)  # BLOCK:recv


def wait_for_pipe():
    select.select([pipe_read], [], [])  # BLOCK:select


def wait_for_worker0():
    workers[0].join()  # BLOCK:join


def wait_sleeping():
    time.sleep(1000)  # BLOCK:sleep


WAYS = [("lock", wait_for_lock), ("event", wait_for_event), ("queue", wait_for_queue),
        ("condition", wait_for_condition), ("recv", wait_for_socket),
        ("select", wait_for_pipe), ("join", wait_for_worker0), ("sleep", wait_sleeping)]


def wait_with_locals():
    text = "hello"
    answer = 42
    big = -12345678901234567890
    ratio = 2.5
    raw = b"\x00ab"
    nothing = None
    flag = True
    pair = (1, "two", 3.0)
    items = list(range(10))
    mapping = {"a": 1, "b": [2, 3]}
    locked = threading.Lock()
    locked.acquire()
    unlocked = threading.Lock()
    rlock = threading.RLock()
    rlock.acquire()
    rlock.acquire()
    locals_seen.update((name, repr(value)) for name, value in locals().items())
    time.sleep(1000)  # BLOCK:locals


# The kinds of frame a stack goes through: level by level, each calls descend again.

def descend(level, turn, bottom):
    if level <= 0:
        return bottom()
    step = STEPS[(level + turn) % len(STEPS)]
    return step(level, turn, bottom)


def plain(level, turn, bottom):
    return descend(level - 1, turn, bottom)


class Walker:
    def method(self, level, turn, bottom):
        return descend(level - 1, turn, bottom)


def closure(level, turn, bottom):
    def inner():
        return descend(level - 1, turn, bottom)
    return inner()


lambda_step = lambda level, turn, bottom: descend(level - 1, turn, bottom)  # noqa: E731


def generator(level, turn, bottom):
    yield descend(level - 1, turn, bottom)


def iterate_generator(level, turn, bottom):
    for result in generator(level, turn, bottom):
        return result


def inside_with(level, turn, bottom):
    mine = threading.Lock()
    with mine:
        return descend(level - 1, turn, bottom)


STEPS = [plain, Walker().method, closure, lambda_step, iterate_generator, inside_with]


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--threads", type=int, default=6, help="worker threads (default 6)")
    p.add_argument("--depth", type=int, default=5, help="levels of recursion (default 5)")
    args = p.parse_args()
    h = _harness.Harness(args)
    sys.setrecursionlimit(max(1000, 4 * args.depth + 100))

    held_by_main.acquire()
    blocking = {}
    for i in range(args.threads):
        way, bottom = WAYS[i % len(WAYS)]
        t = threading.Thread(target=descend, args=(args.depth, i, bottom),
                             name="worker-%d" % i, daemon=True)
        workers.append(t)
        blocking[t.name] = way
    workers.append(threading.Thread(target=descend,
                                    args=(args.depth, args.threads, wait_with_locals),
                                    name="locals-thread", daemon=True))
    blocking["locals-thread"] = "locals"
    for t in workers:
        t.start()

    wait_for = dict(blocking, MainThread="main")
    h.watch(wait_for, expect=lambda snapshot: {
        "blocking": blocking,
        "locals": {"locals-thread": dict(locals_seen)},
    })
    workers[0].join()  # BLOCK:main


if __name__ == "__main__":
    main()
