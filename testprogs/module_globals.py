"""module_globals: queues and an event a thread reaches through a module, a class, an object.

The program writes a module of its own, jobstate.py, into a new temporary directory and
imports it (`import jobstate`): jobstate.jobs is a queue.Queue, jobstate.shutdown a
threading.Event, and jobstate.Mail.box a queue.Queue that is an attribute of a class. The
main module has more: Pipeline.stages (a class attribute), pipeline.inbox (an attribute of a
module-level instance), QUEUES['a'] (an item of a module-level dict), app.stage.todo (two
attributes down), bus.jobs (a slot of a module-level instance whose class has __slots__),
and the main thread's local desk holds desk.tray, its local bag (a functools.partial)
bag.args[0]. None of these queues is a global of the module whose code runs: the threads
reach each through the path named. One more queue is referred to by a threading.Timer alone,
whose function is its bound put (Timer.function.__self__).

--main loops (the default): a thread takes forever from each queue ("worker" from
jobstate.jobs, "mailman" jobstate.Mail.box, "stager" Pipeline.stages, "clerk"
pipeline.inbox, "dispatcher" QUEUES['a'], "stagehand" app.stage.todo, "conductor" bus.jobs,
"server" desk.tray, "bagger" bag.args[0], "receiver" from the timer's queue) and "watcher"
waits for jobstate.shutdown, while the main thread sleeps in a loop that now and then (every
millionth turn) puts to each queue but the timer's, and could set the event, and the timer
("timer") puts to its queue in an hour: nothing is wrong, and a diagnosis must find nothing.
--main joins: "worker" alone takes from the queue --queue names (module, class,
module-class, instance, dict, nested, slots, local: the paths above in that order; shard:
SHARDS[7], an item of a module-level dict under an int key) and the
main thread joins it: nobody can ever put to the queue, and the worker is starved
(starved-consumers on that queue, the main thread blocked).
"""

import atexit
import functools
import os
import shutil
import sys
import tempfile
import threading
import time
import queue

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

JOBSTATE = """\
import queue
import threading

jobs = queue.Queue()
shutdown = threading.Event()


class Mail:
    box = queue.Queue()
"""


class Pipeline:
    stages = queue.Queue()

    def __init__(self):
        self.inbox = queue.Queue()


pipeline = Pipeline()
QUEUES = {"a": queue.Queue()}
SHARDS = {7: queue.Queue()}  # an int key: SHARDS[7]


class Stage:
    def __init__(self):
        self.todo = queue.Queue()


class App:
    def __init__(self):
        self.stage = Stage()


app = App()


class Bus:
    __slots__ = ("jobs",)

    def __init__(self):
        self.jobs = queue.Queue()


bus = Bus()


class Desk:
    def __init__(self):
        self.tray = queue.Queue()

    def serve(self):
        while True:
            print("got", self.tray.get())  # BLOCK:get-local


def import_jobstate():
    d = tempfile.mkdtemp(prefix="module_globals-")
    atexit.register(shutil.rmtree, d, True)
    with open(os.path.join(d, "jobstate.py"), "w", encoding="utf-8") as f:
        f.write(JOBSTATE)
    sys.path.insert(0, d)
    global jobstate
    import jobstate


def take(which):
    while True:
        if which == "module":
            print("got", jobstate.jobs.get())  # BLOCK:get
        elif which == "class":
            print("got", Pipeline.stages.get())  # BLOCK:get-class
        elif which == "instance":
            print("got", pipeline.inbox.get())  # BLOCK:get-instance
        elif which == "dict":
            print("got", QUEUES["a"].get())  # BLOCK:get-dict
        elif which == "shard":
            print("got", SHARDS[7].get())  # BLOCK:get-shard
        elif which == "nested":
            print("got", app.stage.todo.get())  # BLOCK:get-nested
        elif which == "slots":
            print("got", bus.jobs.get())  # BLOCK:get-slots
        else:
            print("got", jobstate.Mail.box.get())  # BLOCK:get-module-class


def watch():
    jobstate.shutdown.wait()  # BLOCK:shutdown


def take_from(q, marker):
    while True:
        if marker == "bag":
            print("got", q.get())  # BLOCK:get-bag
        else:
            print("got", q.get())  # BLOCK:get-timer


def fed_by_timer():
    """A queue that a Timer alone refers to: it puts to it in an hour."""
    late = queue.Queue()
    threading.Thread(target=take_from, args=(late, "timer"), name="receiver", daemon=True).start()
    timer = threading.Timer(3600, late.put, args=("late",))
    timer.name, timer.daemon = "timer", True
    timer.start()


WAYS = {"module": "jobstate.jobs", "class": "Pipeline.stages", "module-class": "jobstate.Mail.box",
        "instance": "pipeline.inbox", "dict": "QUEUES['a']", "shard": "SHARDS[7]", "nested": "app.stage.todo",
        "slots": "bus.jobs", "local": "desk.tray"}


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--main", choices=("loops", "joins"), default="loops")
    p.add_argument("--queue", choices=sorted(WAYS), default="module")
    args = p.parse_args()
    h = _harness.Harness(args)
    import_jobstate()
    desk = Desk()  # the main thread's local: desk.tray
    if args.main == "joins":
        target = desk.serve if args.queue == "local" else functools.partial(take, args.queue)
        worker = threading.Thread(target=target, name="worker", daemon=True)
        worker.start()
        marker = "get" if args.queue == "module" else "get-" + args.queue
        h.watch({"worker": marker, "MainThread": "join"},
                expect={"starved": ["worker"], "queue": WAYS[args.queue], "blocked_others": ["MainThread"]})
        worker.join()  # BLOCK:join
        return
    takers = {"worker": "module", "stager": "class", "mailman": "module-class", "clerk": "instance",
              "dispatcher": "dict", "stagehand": "nested", "conductor": "slots"}
    for name, which in takers.items():
        threading.Thread(target=take, args=(which,), name=name, daemon=True).start()
    threading.Thread(target=desk.serve, name="server", daemon=True).start()
    threading.Thread(target=watch, name="watcher", daemon=True).start()
    bag = functools.partial(take_from, queue.Queue(), "bag")  # the main thread's: bag.args[0]
    threading.Thread(target=bag, name="bagger", daemon=True).start()
    fed_by_timer()
    blocked = {name: "get" if which == "module" else "get-" + which for name, which in takers.items()}
    blocked.update({"server": "get-local", "bagger": "get-bag", "receiver": "get-timer",
                    "watcher": "shutdown", "MainThread": "sleep"})
    h.watch(blocked, expect={"healthy": True})
    turn = 0
    while not jobstate.shutdown.is_set():
        time.sleep(0.5)  # BLOCK:sleep
        turn += 1
        if turn % 1000000 == 0:
            for q in (jobstate.jobs, jobstate.Mail.box, Pipeline.stages, pipeline.inbox, QUEUES["a"],
                      app.stage.todo, bus.jobs, desk.tray, bag.args[0]):
                q.put(turn)


if __name__ == "__main__":
    main()
