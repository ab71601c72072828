"""Ground truth about asyncio tasks, for programs that hang in asyncio (stdlib only, 3.8+).

A program's coroutine calls `aio.register()` once its loop runs; the watcher thread of
_harness.py then reads the registered loops' tasks from outside the loop (they are all
suspended, or the loop's thread is blocked, when it looks):

    aio.tasks() -> [{"name", "loop_thread", "running", "done",
                     "frames": [{"function", "qualname", "file", "line"}, ...innermost first]}]

A task's frames are its await chain, as `python -m asyncio pstree` shows it: the frame of
each coroutine (or generator) it awaits through, following cr_await / gi_yieldfrom from the
task's coroutine. For the task that runs now (its loop's thread is blocked inside it), they
are that thread's frames from the innermost out to the task's coroutine.

aio.blocked({task name: marker}) is a readiness check for Harness.watch: each named task
is suspended, its innermost frame in the program's file on the marker's line.
"""

import asyncio
import sys
import threading
import time

import _harness


class Tasks:
    def __init__(self, harness):
        self.h = harness
        self.loops = {}  # loop -> name of the thread running it

    def register(self):
        """Call from a coroutine: its loop's tasks become part of the ground truth."""
        self.loops[asyncio.get_running_loop()] = threading.current_thread().name

    def _all(self, loop):
        for _ in range(100):  # the registry may change size under the iteration
            try:
                return [t for t in asyncio.all_tasks(loop)]
            except RuntimeError:
                time.sleep(0.01)
        raise _harness.NotReady("asyncio.all_tasks kept changing")

    def tasks(self):
        """Every pending task of every registered loop, sorted by name."""
        by_name = {t.name: t for t in threading.enumerate()}
        current = sys._current_frames()
        out = []
        try:
            for loop, thread_name in list(self.loops.items()):
                thread = by_name.get(thread_name)
                top = current.get(thread.ident) if thread is not None else None
                for task in self._all(loop):
                    out.append(self._task(task, thread_name, top))
        finally:
            del current
        out.sort(key=lambda t: t["name"])
        return out

    def _task(self, task, thread_name, top):
        coro = task.get_coro()
        frames, running = [], False
        outer = getattr(coro, "cr_frame", None)
        if outer is not None and top is not None and _on_stack(outer, top):
            running = True
            f = top
            while f is not None:
                frames.append(_frame(f))
                if f is outer:
                    break
                f = f.f_back
        else:
            frames = await_chain(coro)
        return {"name": task.get_name(), "loop_thread": thread_name, "running": running,
                "done": task.done(), "frames": frames}

    def blocked(self, spec, threads=None):
        """A readiness check: each task named in spec is suspended at its marker; the
        threads named in `threads` ({name: marker}) blocked at theirs."""
        check_threads = self.h.blocked(threads or {})

        def check(snapshot):
            watched = check_threads(snapshot)
            named = {t["name"]: t for t in self.tasks()}
            for name, marker in spec.items():
                t = named.get(name)
                if t is None:
                    raise _harness.NotReady("no task named %r" % name)
                own = [f for f in t["frames"] if f["file"] == self.h.program]
                if t["running"] or not own or own[0]["line"] != self.h.line(marker):
                    raise _harness.NotReady("task %s not at %s (%s)" % (
                        name, marker, own[0]["line"] if own else "no frame of ours"))
            return watched
        return check


def _on_stack(frame, top):
    f = top
    while f is not None:
        if f is frame:
            return True
        f = f.f_back
    return False


def _frame(f):
    code = f.f_code
    return {"function": code.co_name, "qualname": getattr(code, "co_qualname", code.co_name),
            "file": _harness._abs(code.co_filename), "line": f.f_lineno}


def await_chain(coro):
    """The frames a suspended coroutine awaits through, innermost first."""
    frames = []
    while coro is not None and len(frames) < 1000:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        frames.append(_frame(frame))
        if hasattr(coro, "cr_await"):
            coro = coro.cr_await
        else:
            coro = getattr(coro, "gi_yieldfrom", None)
    frames.reverse()
    return frames
