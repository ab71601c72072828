"""mp_queue_join: a parent joins a worker process before taking what the worker put on a
multiprocessing.Queue.

The worker ("producer", fork start method, or spawn or forkserver with --start-method)
puts one item bigger than a pipe holds (64 KiB) on `results` and returns. A process that
put items on a multiprocessing queue exits only once its queue's feeder thread has
written them all into the queue's pipe (the queue's finalizer joins that thread): the
feeder thread is blocked writing to the full pipe, and the worker's main thread waits for
it. The main thread joins the worker before it calls results.get(): it waits for the
worker to exit, and nothing reads the pipe. This is the hang multiprocessing's own guide
warns of ("joining processes that use queues").

A diagnosis of the live parent should find a deadlock between the process and its child:
MainThread waits for the child to exit; the kernel shows the child's one other thread
blocked writing to the pipe whose read end is results' reader in the parent, every other
thread of the child waiting for it on a futex of the child's own, and no process but the
two holding the read end. The advice is to get() the queue's items before joining. From
a core, which does not record the child, nothing may be claimed.

With --drain (a negative control) the worker puts many items, and a thread of the parent
("drainer") takes one a second while the main thread joins the worker: the feeder thread
is blocked on the full pipe most of the time, but the drainer sleeps with a timeout and
will read it. Nothing may be reported.
"""

import ctypes
import multiprocessing
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

ITEM = "r" * (256 << 10)


def produce(results, items):
    ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL: never outlive the test
    for _ in range(items):
        results.put(ITEM)


def drain(results):
    while True:
        results.get()
        time.sleep(1)  # BLOCK:drain


def feeder_blocked(pid):
    """Raise NotReady until a thread of child pid other than its main one sits in write(2),
    and its main thread in a futex wait (the join of that thread), as /proc says."""
    _harness.child_in_futex(pid, "producer")
    try:
        tasks = [t for t in os.listdir("/proc/%d/task" % pid) if t != str(pid)]
        calls = []
        for t in tasks:
            with open("/proc/%d/task/%s/syscall" % (pid, t), encoding="ascii") as f:
                calls.append(f.read().split()[0])
    except OSError as e:
        raise _harness.NotReady("producer: %s" % e)
    if calls != ["1"]:
        raise _harness.NotReady("producer's threads besides its main one are in %s, not one write" % calls)


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--start-method", choices=["fork", "spawn", "forkserver"], default="fork")
    p.add_argument("--drain", action="store_true", help="take an item a second in a thread while joining")
    h = _harness.Harness(p.parse_args())
    ctx = multiprocessing.get_context(h.args.start_method)
    results = ctx.Queue()
    producer = ctx.Process(target=produce, args=(results, 100000 if h.args.drain else 1), name="producer")
    producer.start()
    if h.args.drain:
        threading.Thread(target=drain, args=(results,), name="drainer", daemon=True).start()
        blocked = h.blocked({"MainThread": "join", "drainer": "drain"})
    else:
        blocked = h.blocked({"MainThread": "join"})

    def ready(snapshot):
        watched = blocked(snapshot)
        feeder_blocked(producer.pid)
        return watched

    expect = {"pipe_deadlock": "MainThread", "child_pid": producer.pid,
              "child_fd": results._writer.fileno() if h.args.start_method == "fork" else 0,
              "target_fd": results._reader.fileno(), "queue": "results", "live_only": True}
    h.watch(ready, expect={"healthy": True} if h.args.drain else expect)
    producer.join()  # BLOCK:join
    print(len(results.get()))


if __name__ == "__main__":
    main()
