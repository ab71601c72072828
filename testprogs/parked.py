"""parked: the dump oracle. Many threads parked at the bottom of deep, varied stacks.

Each worker ("worker-0", "worker-1", ...) recurses --depth levels through every kind of
frame: a plain function, a method (Walker.method), a closure (closure.<locals>.inner), a
lambda, a generator being iterated, a frame inside `with lock:`. Then it blocks in one of
these, by turns: Lock.acquire on a lock the main thread holds, Event.wait, Queue.get,
Condition.wait, socket recv, select on a pipe, Thread.join of worker-0, time.sleep.
"locals-thread" goes as deep and sleeps with recognisable locals in its innermost frame
(arguments, a cell, containers nested and long, strings long). The main thread holds
`held_by_main` and joins worker-0. Nothing ever wakes up.

Options add what other stack tools show: --subinterpreters N starts "sub-0", ... which each
run a subinterpreter that sleeps (a worker's stack crosses two interpreters); --c-threads
starts two threads with no Python in them (pthread_create through ctypes, running pause()
and sem_wait(), named with pthread_setname_np); --os-names renames locals-thread's kernel
thread (prctl PR_SET_NAME).

A dump must show every thread's stack as the ready file records it. expect.blocking names
each worker's way of blocking; expect.locals holds, for every local of locals-thread's
innermost frame in locals() order, its repr, whether it is an argument, and its bounded repr
under pyhang's default limits and under LIMITED (see bounded_repr); expect.subinterpreters
the stack, name and interpreter of each subinterpreter's part of a thread; expect.c_threads
the C threads. `--threads 200 --depth 100` is the benchmark target.
"""

import ctypes
import functools
import inspect
import json
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


def wait_with_locals(first, second, *more, key=None, **extra):
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
    nested3 = [1, [2, [3, "deep"]]]
    nested5 = [[[[["five"]]]]]
    dict8 = {"k%d" % i: i * i for i in range(8)}
    long_text = "abcdefghij" * 50
    long_bytes = b"0123456789" * 30
    many = list(range(40))
    mixed = {"list": many[:12], "tuple": (1,), "text": long_text[:90], "inner": {"a": [1, 2]}}
    captured = "in a cell"
    numbers = {3, 1, 2}
    tags = frozenset({"x"})
    no_tags = set()
    impedance = complex(1, -2)
    kind = Walker
    loop = [1]
    loop.append(loop)

    def reader():
        return captured, first
    callback = reader
    if os.environ.get("PARKED_OS_NAME"):
        set_os_name(os.environ["PARKED_OS_NAME"])
    locals_seen.update(describe_locals(locals(), wait_with_locals))
    time.sleep(1000)  # BLOCK:locals


# pyhang's repr limits: the defaults of --locals, and the ones the test passes as
# --locals-depth 1 --locals-items 3 --locals-width 40.
DEFAULT_LIMITS = (3, 10, 200)
LIMITED = (1, 3, 40)


def describe_locals(values, function):
    """For each local in locals() order: its repr, whether it is an argument, and its
    bounded reprs (with what they cut) under DEFAULT_LIMITS and LIMITED."""
    params = set(inspect.signature(function).parameters)
    out = []
    for name, value in values.items():
        out.append({
            "name": name,
            "repr": repr(value),
            "argument": name in params,
            "default": bounded_repr(value, *DEFAULT_LIMITS),
            "limited": bounded_repr(value, *LIMITED),
        })
    return {"order": out}


def bounded_repr(value, depth, items, width):
    """pyhang's bounded repr of a local, worked out here from the objects themselves.

    The rule (snapshot/cpython/repr.go): containers deeper than `depth` show only their
    length, "[…(N items)]"; a container shows at most `items` items, and stops adding items
    once `width` characters are written; the items left out are "…(N more)"; a str shows at
    most what is left of `width` (less its quotes, at least 1 character) and then
    "…(N more characters)", bytes likewise with "…(N more bytes)"; a container met again
    inside itself is "[...]" as in Python. Only the types pyhang decodes (None, bool,
    int, float, complex, str, bytes, tuple, list, dict, set, frozenset, functions and
    classes) may be given here.
    Returns [text, {"items", "chars", "bytes", "collapsed"}] (zero counts left out)."""
    out = []
    state = {"budget": width, "cut": {}}

    def write(s):
        out.append(s)
        state["budget"] -= len(s)

    def cut(kind, n):
        state["cut"][kind] = state["cut"].get(kind, 0) + n

    active = []

    def walk(v, level):
        if v is None or isinstance(v, (bool, int, float, complex, type)) or inspect.isfunction(v):
            write(repr(v))
        elif isinstance(v, (list, tuple, dict, set, frozenset)) and any(v is a for a in active):
            write({list: "[...]", tuple: "(...)", dict: "{...}", set: "set(...)",
                   frozenset: "frozenset(...)"}[type(v)])
        elif isinstance(v, (set, frozenset)) and not v:
            write(repr(v))
        elif isinstance(v, str):
            keep = max(state["budget"] - 2, 1)
            write(repr(v[:keep]))
            if len(v) > keep:
                cut("chars", len(v) - keep)
                write("…(%d more characters)" % (len(v) - keep))
        elif isinstance(v, bytes):
            keep = max(state["budget"] - 3, 1)
            write(repr(v[:keep]))
            if len(v) > keep:
                cut("bytes", len(v) - keep)
                write("…(%d more bytes)" % (len(v) - keep))
        elif isinstance(v, (list, tuple, dict, set, frozenset)):
            open_, close = {list: "[]", tuple: "()", dict: "{}", set: "{}"}.get(type(v), ("frozenset({", "})"))
            if len(v) > 0 and level >= depth:
                cut("collapsed", 1)
                write("%s…(%d items)%s" % (open_, len(v), close))
                return
            write(open_)
            active.append(v)
            shown = 0
            entries = list(v.items()) if isinstance(v, dict) else list(v)
            for e in entries[:items]:
                if state["budget"] <= 0:
                    break
                if shown:
                    write(", ")
                if isinstance(v, dict):
                    walk(e[0], level + 1)
                    write(": ")
                    walk(e[1], level + 1)
                else:
                    walk(e, level + 1)
                shown += 1
            rest = len(v) - shown
            if rest > 0:
                cut("items", rest)
                if shown:
                    write(", ")
                write("…(%d more)" % rest)
            elif isinstance(v, tuple) and len(v) == 1:
                write(",")
            active.pop()
            write(close)
        else:
            return None
        return True

    if not (value is None or isinstance(value, (bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset, type))
            or inspect.isfunction(value)):
        return None
    walk(value, 0)
    return ["".join(out), state["cut"]]


def set_os_name(name):
    """Renames the calling thread for the kernel (prctl PR_SET_NAME)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(15, name.encode(), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")


# Threads without Python: pthread_create through ctypes, running a libc function.

c_thread_keep = []  # the semaphore and thread handles must outlive the threads


def start_c_threads():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.pthread_create.argtypes = [ctypes.POINTER(ctypes.c_ulong), ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    libc.pthread_setname_np.argtypes = [ctypes.c_ulong, ctypes.c_char_p]
    sem = ctypes.create_string_buffer(64)  # sem_t is 32 bytes
    if libc.sem_init(sem, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "sem_init")
    started = []
    for name, fn, arg in (("c-pause", libc.pause, None), ("c-semwait", libc.sem_wait, ctypes.addressof(sem))):
        handle = ctypes.c_ulong()
        rc = libc.pthread_create(ctypes.byref(handle), None, ctypes.cast(fn, ctypes.c_void_p), arg)
        if rc != 0:
            raise OSError(rc, "pthread_create")
        rc = libc.pthread_setname_np(handle.value, name.encode())
        if rc != 0:
            raise OSError(rc, "pthread_setname_np")
        started.append({"ident": handle.value, "os_name": name})
    c_thread_keep.append(sem)
    # The kernel knows them by the names just set: that gives their tids.
    for _ in range(500):
        tids = {}
        for tid in os.listdir("/proc/self/task"):
            tids[_harness.os_name(int(tid))] = int(tid)
        if all(t["os_name"] in tids for t in started):
            for t in started:
                t["tid"] = tids[t["os_name"]]
            return started
        time.sleep(0.01)
    raise RuntimeError("C threads not found in /proc/self/task")


# Subinterpreters: each "sub-N" worker runs a subinterpreter whose code sleeps. The code
# records its own stack just before it sleeps (sys._current_frames() cannot tell a thread's
# frames in two interpreters apart, and 3.9-3.11 allow no threads in a subinterpreter to
# record it later): the innermost frame is then set to the sleep call, its line and the
# position of the call instruction, as dis gives it.

try:
    import _interpreters as subinterpreters  # 3.13+
    run_in = subinterpreters.exec
except ImportError:
    try:
        import _xxsubinterpreters as subinterpreters  # 3.8-3.12
        run_in = subinterpreters.run_string
    except ImportError:
        subinterpreters = None

SUB_CODE = """\
import dis, json, os, sys, threading, time
sys.path.insert(0, %(dir)r)
import _harness


def park():
    frames = _harness.frame_stack(sys._getframe())
    frames[0]["line"] = %(sleep_line)d
    if "positions" in frames[0]:
        calls = [i for i in dis.get_instructions(park.__code__)
                 if i.positions.lineno == %(sleep_line)d and i.opname.startswith("CALL")]
        frames[0]["positions"] = list(calls[-1].positions)
    report = {"ident": threading.get_ident(), "name": threading.current_thread().name,
              "interp": %(interp)d, "frames": frames}
    os.write(%(fd)d, (json.dumps(report) + "\\n").encode())
    time.sleep(1000)


park()
"""
SUB_SLEEP_LINE = SUB_CODE.splitlines().index("    time.sleep(1000)") + 1


def run_subinterpreter(interp, fd):
    code = SUB_CODE % {"dir": os.path.dirname(os.path.realpath(__file__)), "interp": int(interp),
                       "fd": fd, "sleep_line": SUB_SLEEP_LINE}
    run_in(interp, code)  # BLOCK:subinterp


def start_subinterpreters(n):
    if subinterpreters is None:
        raise RuntimeError("no _interpreters or _xxsubinterpreters module in Python %s" % sys.version)
    threads, pipes = [], []
    for i in range(n):
        interp = subinterpreters.create()
        if isinstance(interp, tuple):
            interp = interp[0]
        r, w = os.pipe()
        t = threading.Thread(target=run_subinterpreter, args=(interp, w), name="sub-%d" % i, daemon=True)
        t.start()
        threads.append(t)
        pipes.append(r)
    reports = {}
    for t, r in zip(threads, pipes):
        line = b""
        while not line.endswith(b"\n"):
            if not select.select([r], [], [], 0.1)[0]:
                if not t.is_alive():
                    raise RuntimeError("%s ended before its subinterpreter reported" % t.name)
                continue
            line += os.read(r, 65536)
        rep = json.loads(line)
        reports[str(rep["ident"])] = rep
    return threads, reports


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
    p.add_argument("--subinterpreters", type=int, default=0, metavar="N",
                   help="also N threads that each run a subinterpreter (default 0)")
    p.add_argument("--c-threads", action="store_true", help="also two threads without Python")
    p.add_argument("--os-names", action="store_true", help="rename locals-thread for the kernel")
    args = p.parse_args()
    h = _harness.Harness(args)
    sys.setrecursionlimit(max(1000, 4 * args.depth + 100))
    if args.os_names:
        os.environ["PARKED_OS_NAME"] = "locals-os"

    held_by_main.acquire()
    blocking = {}
    for i in range(args.threads):
        way, bottom = WAYS[i % len(WAYS)]
        t = threading.Thread(target=descend, args=(args.depth, i, bottom),
                             name="worker-%d" % i, daemon=True)
        workers.append(t)
        blocking[t.name] = way
    with_args = functools.partial(wait_with_locals, "one", 2, 3.5, None, key="k", extra=[1, 2])
    workers.append(threading.Thread(target=descend,
                                    args=(args.depth, args.threads, with_args),
                                    name="locals-thread", daemon=True))
    blocking["locals-thread"] = "locals"
    for t in workers:
        t.start()
    c_threads = start_c_threads() if args.c_threads else []
    subs = {}
    if args.subinterpreters:
        sub_threads, subs = start_subinterpreters(args.subinterpreters)
        for t in sub_threads:
            blocking[t.name] = "subinterp"

    wait_for = dict(blocking, MainThread="main")
    h.watch(wait_for, expect=lambda snapshot: {
        "blocking": blocking,
        "locals": {"locals-thread": dict(locals_seen)},
        "c_threads": c_threads,
        "subinterpreters": subs,
        "limits": {"default": DEFAULT_LIMITS, "limited": LIMITED},
    })
    workers[0].join()  # BLOCK:main


if __name__ == "__main__":
    main()
