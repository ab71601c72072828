"""mp_lost_task: a multiprocessing.Pool job whose worker was killed: its result never comes.

The main thread maps work over a Pool of 2 worker processes (fork start method, or with
--start-method spawn or forkserver: each worker a fresh interpreter, or a fork server's
child, which maps the pool's semaphores at addresses of its own). The worker
that takes task 3 is killed (as the OOM killer would: SIGKILL). The pool notices the dead
worker and starts another, but the task went with the dead one: the job's result never
arrives, and map() waits forever. Every worker is idle, the task queue empty.

A diagnosis of the live process should find an abandoned wait: MainThread waits for the
result of job 0, one task of which will never report; both workers are idle. (From a
core, which does not show the children, nothing can be proven.)
"""

import multiprocessing
import os
import signal
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

# Where the killed worker leaves its pid and name: a fresh directory of this run's own, so
# that a file left by an earlier run is never taken for this run's (workers see the name
# main sets in their environment, forked or spawned).
KILLED = None
KILLED_ENV = "MP_LOST_TASK_KILLED"


def work(n):
    if n == 3:
        killed = os.environ[KILLED_ENV]
        with open(killed + ".tmp", "w") as f:
            f.write("%d %s" % (os.getpid(), multiprocessing.current_process().name))
        os.rename(killed + ".tmp", killed)
        os.kill(os.getpid(), signal.SIGKILL)  # the OOM killer, say
    time.sleep(0.05)
    return n * n


def main():
    global KILLED
    p = _harness.parser(__doc__)
    p.add_argument("--start-method", choices=["fork", "spawn", "forkserver"], default="fork")
    h = _harness.Harness(p.parse_args())
    here = os.path.dirname(os.path.abspath(h.args.ready)) if h.args.ready else tempfile.mkdtemp()
    KILLED = os.path.join(here, "mp_lost_task.%d.killed" % os.getpid())
    os.environ[KILLED_ENV] = KILLED
    # 3.12+ warns that forking a process with threads (the pool's own) may deadlock.
    warnings.simplefilter("ignore", DeprecationWarning)
    pool = multiprocessing.get_context(h.args.start_method).Pool(2)
    waiting = h.blocked({"MainThread": "map"})

    def ready(snapshot):
        if not os.path.exists(KILLED):
            raise _harness.NotReady("no worker killed yet")
        with open(KILLED) as f:
            dead = int(f.read().split()[0])
        pids = [p.pid for p in pool._pool]
        if dead in pids or len(pids) != 2:
            raise _harness.NotReady("the pool has not replaced worker %d yet (%s)" % (dead, pids))
        for pid in pids:  # idle: reading the task pipe (0) or waiting for its lock (202)
            if _harness.syscall_of(pid) not in ("0", "202"):
                raise _harness.NotReady("worker %d not idle" % pid)
        return waiting(snapshot)

    def expect(snapshot, pool=pool):
        with open(KILLED) as f:
            pid, name = f.read().split()
        return {"lost_task": "MainThread", "job": 0, "left": 1, "processes": 2,
                "workers": sorted(p.pid for p in pool._pool), "killed_pid": int(pid), "killed_name": name}

    h.watch(ready, expect=expect)
    print(pool.map(work, range(6), chunksize=1))  # BLOCK:map


if __name__ == "__main__":
    main()
