"""children: a process whose threads wait on its child processes, for --subprocesses.

The main thread reads the stdout of a `subprocess` child that runs this same program
(--child), which itself waits to read its stdin: the parent never writes it, so each waits
on the other through a pipe. The thread "joiner" joins a multiprocessing worker (fork start
method), which sleeps. Each child writes a ready file of its own (--ready FILE.NAME); the
parent's ready file holds them, by pid, in expect.children.

Expect: with --subprocesses, every process's stacks; the joiner waiting for the worker
(wait4), the main thread and the child each reading a pipe whose write end only the other
holds: a cycle across the two processes.
"""

import ctypes
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def die_with_parent():
    """A child must not outlive the test's process: PR_SET_PDEATHSIG, SIGKILL."""
    ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)


def mp_worker(ready):
    die_with_parent()
    args = _harness.parser(__doc__).parse_args(["--ready", ready])
    h = _harness.Harness(args)
    h.watch({"MainThread": "mp_worker"})
    time.sleep(1000)  # BLOCK:mp_worker


def child(args):
    die_with_parent()
    h = _harness.Harness(args)
    h.watch({"MainThread": "child_read"})
    sys.stdin.buffer.read(1)  # BLOCK:child_read


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--child", action="store_true", help="run as the subprocess child")
    args = p.parse_args()
    if args.child:
        return child(args)
    h = _harness.Harness(args)
    base = args.ready or "/dev/null"
    worker = multiprocessing.get_context("fork").Process(target=mp_worker, args=(base + ".mp_worker",),
                                                         name="mp-worker")
    worker.start()
    proc = subprocess.Popen([sys.executable, os.path.realpath(__file__), "--child", "--ready", base + ".child"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def join_worker():
        worker.join()  # BLOCK:join_mp

    threading.Thread(target=join_worker, name="joiner", daemon=True).start()
    blocked = h.blocked({"MainThread": "parent_read", "joiner": "join_mp"})
    children = {}

    def ready(snapshot):
        watched = blocked(snapshot)
        for name, pid in (("mp_worker", worker.pid), ("child", proc.pid)):
            path = base + "." + name
            if str(pid) not in children:
                if not os.path.exists(path):
                    raise _harness.NotReady("no ready file from " + name)
                with open(path, encoding="utf-8") as f:
                    children[str(pid)] = json.load(f)
        return watched

    h.watch(ready, expect=lambda snapshot: {"children": children, "mp_worker": worker.pid, "child": proc.pid})
    proc.stdout.read()  # BLOCK:parent_read


if __name__ == "__main__":
    main()
