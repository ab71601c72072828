"""module_globals: a queue and an event that are globals of another module of the program.

The program writes a module of its own, jobstate.py, into a new temporary directory and
imports it (`import jobstate`): jobstate.jobs is a queue.Queue and jobstate.shutdown a
threading.Event. "worker" takes jobs forever with jobstate.jobs.get(). The queue is a
global of jobstate alone, whose code no thread runs: the main module reaches it as
jobstate.jobs.

--main loops (the default): "watcher" waits for jobstate.shutdown, and the main thread
sleeps in a loop that puts a job now and then (every millionth turn) and could set the
event: nothing is wrong, and a diagnosis must find nothing.
--main joins: the main thread joins the worker, and nobody can ever put a job: the worker
is starved (starved-consumers on jobstate.jobs, the main thread blocked).
"""

import atexit
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

JOBSTATE = """\
import queue
import threading

jobs = queue.Queue()
shutdown = threading.Event()
"""


def import_jobstate():
    d = tempfile.mkdtemp(prefix="module_globals-")
    atexit.register(shutil.rmtree, d, True)
    with open(os.path.join(d, "jobstate.py"), "w", encoding="utf-8") as f:
        f.write(JOBSTATE)
    sys.path.insert(0, d)
    global jobstate
    import jobstate


def work():
    while True:
        print("got", jobstate.jobs.get())  # BLOCK:get


def watch():
    jobstate.shutdown.wait()  # BLOCK:shutdown


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--main", choices=("loops", "joins"), default="loops")
    args = p.parse_args()
    h = _harness.Harness(args)
    import_jobstate()
    worker = threading.Thread(target=work, name="worker", daemon=True)
    worker.start()
    if args.main == "joins":
        h.watch({"worker": "get", "MainThread": "join"},
                expect={"starved": ["worker"], "queue": "jobstate.jobs", "blocked_others": ["MainThread"]})
        worker.join()  # BLOCK:join
        return
    threading.Thread(target=watch, name="watcher", daemon=True).start()
    h.watch({"worker": "get", "watcher": "shutdown", "MainThread": "sleep"}, expect={"healthy": True})
    turn = 0
    while not jobstate.shutdown.is_set():
        time.sleep(0.5)  # BLOCK:sleep
        turn += 1
        if turn % 1000000 == 0:
            jobstate.jobs.put(turn)


if __name__ == "__main__":
    main()
