"""module_globals: queues and an event reached through another module, a class or an instance.

The program writes a module of its own, jobstate.py, into a new temporary directory and
imports it (`import jobstate`): jobstate.jobs is a queue.Queue, jobstate.shutdown a
threading.Event, and jobstate.Mail.box a queue.Queue that is an attribute of a class. The
main module's own class Pipeline has one too, Pipeline.stages. None of them is a global of
the module whose code runs: the threads reach them as jobstate.jobs, jobstate.Mail.box and
Pipeline.stages. The module-level instance pipeline holds a fourth, pipeline.inbox.

--main loops (the default): "worker" takes jobs forever from jobstate.jobs, "mailman" from
jobstate.Mail.box, "stager" from Pipeline.stages, "clerk" from pipeline.inbox, and
"watcher" waits for jobstate.shutdown, while the main thread sleeps in a loop that now and
then (every millionth turn) puts to each queue, and could set the event: nothing is wrong,
and a diagnosis must find nothing.
--main joins: "worker" alone takes from the queue --queue names (module: jobstate.jobs,
class: Pipeline.stages, module-class: jobstate.Mail.box, instance: pipeline.inbox) and the
main thread joins it: nobody can ever put to the queue, and the worker is starved
(starved-consumers on that queue, the main thread blocked).
"""

import atexit
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
        else:
            print("got", jobstate.Mail.box.get())  # BLOCK:get-module-class


def watch():
    jobstate.shutdown.wait()  # BLOCK:shutdown


QUEUES = {"module": "jobstate.jobs", "class": "Pipeline.stages", "module-class": "jobstate.Mail.box",
          "instance": "pipeline.inbox"}


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--main", choices=("loops", "joins"), default="loops")
    p.add_argument("--queue", choices=sorted(QUEUES), default="module")
    args = p.parse_args()
    h = _harness.Harness(args)
    import_jobstate()
    if args.main == "joins":
        worker = threading.Thread(target=take, args=(args.queue,), name="worker", daemon=True)
        worker.start()
        marker = "get" if args.queue == "module" else "get-" + args.queue
        h.watch({"worker": marker, "MainThread": "join"},
                expect={"starved": ["worker"], "queue": QUEUES[args.queue], "blocked_others": ["MainThread"]})
        worker.join()  # BLOCK:join
        return
    for name, which in (("worker", "module"), ("stager", "class"), ("mailman", "module-class"), ("clerk", "instance")):
        threading.Thread(target=take, args=(which,), name=name, daemon=True).start()
    threading.Thread(target=watch, name="watcher", daemon=True).start()
    h.watch({"worker": "get", "stager": "get-class", "mailman": "get-module-class", "clerk": "get-instance",
             "watcher": "shutdown", "MainThread": "sleep"}, expect={"healthy": True})
    turn = 0
    while not jobstate.shutdown.is_set():
        time.sleep(0.5)  # BLOCK:sleep
        turn += 1
        if turn % 1000000 == 0:
            jobstate.jobs.put(turn)
            jobstate.Mail.box.put(turn)
            Pipeline.stages.put(turn)
            pipeline.inbox.put(turn)


if __name__ == "__main__":
    main()
