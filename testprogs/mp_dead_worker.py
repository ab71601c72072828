"""mp_dead_worker: the main process waits on a multiprocessing Queue whose last producer was killed.

Three worker processes (fork start method) each compute one result and put it on the
queue `results`; the main thread takes three results. "worker-2" is killed (SIGKILL, as
the OOM killer would) before it puts its result; the others put theirs and exit. The
main thread waits in results.get() for the third result forever: no process that could
put to the queue is alive.

A diagnosis of the live process should find an abandoned wait on `results`, naming
worker-2 and that SIGKILL killed it. (From a core, which does not show the children,
nothing can be proven: the workers had not been reaped.)
"""

import multiprocessing
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def work(n, results):
    if n == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # the OOM killer, say
    results.put((n, n * n))


def state_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    workers = [ctx.Process(target=work, args=(n, results), name="worker-%d" % n) for n in range(3)]
    for w in workers:
        w.start()
    blocked = h.blocked({"MainThread": "get"})

    def ready(snapshot, workers=workers):
        for w in workers:  # every worker has ended (a zombie, or reaped)
            if state_of(w.pid) not in (None, "Z"):
                raise _harness.NotReady("%s still running" % w.name)
        return blocked(snapshot)

    h.watch(ready, expect={"dead_worker": "worker-2", "dead_pid": workers[2].pid, "dead_signal": 9,
                           "object": "results", "waiters": ["MainThread"]})
    got = [results.get() for _ in workers]  # BLOCK:get
    print(got)


if __name__ == "__main__":
    main()
