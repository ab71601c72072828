"""The ready-file protocol shared by every test program (stdlib only, CPython 3.8+).

A program runs as `python PROG.py --ready FILE [options]`. Once it has reached its hang, a
watcher thread writes FILE (via FILE.tmp and a rename) with JSON:

    {"pid", "python", "executable", "program", "argv", "markers": {name: line},
     "watcher_ident", "watcher_native_id",
     "threads": [{"ident", "native_id", "name", "main", "daemon", "os_name",
                  "frames": [{"function", "qualname", "file", "line",
                              "positions": [line, end_line, column, end_column]},
                             ...innermost first]}],
     "expect": {...program-specific...}}

"os_name" is the kernel's name of the thread (/proc/self/task/TID/comm); "positions" is
co_positions() of the frame's current instruction (3.11+; null parts are null).

`threads` covers every thread except the watcher, which then returns, so it is absent from
any later dump; a test that wants a quiet process waits until watcher_native_id is gone
from /proc/PID/task. If the hang is not reached within --ready-timeout seconds, FILE gets
{"error": ..., "threads": [...]} and the process exits with status 1.

Blocking call sites carry a marker comment `# BLOCK:name` (other interesting lines
`# SITE:name`); the harness finds them by scanning the program's source, so no line number
is ever written down twice. A thread "is blocked at" a marker when its innermost frame in
the program's file is on that line and its innermost frame of all is either that frame or a
library line that makes a blocking call (Condition.wait's `waiter.acquire()`, socket
`recv_into`, ...). The stacks of the watched threads must also stay the same for 0.2 s.

A program that crashes instead calls Harness.about_to_crash() just before the fatal call:
the file is written at once, with the stack as it will be at the crash, and no watcher.
A program whose hang stops every thread from running Python (a call that blocks while it
keeps the GIL) calls Harness.about_to_block() just before that call, the same way; it
writes the file without letting go of the GIL, so no other thread runs Python in between.
"""

import argparse
import json
import linecache
import os
import platform
import re
import sys
import threading
import time

MARKER = re.compile(r"#\s*(?:BLOCK|SITE):([A-Za-z0-9_.-]+)")

# A library line that blocks: what threading, queue, socket, selectors and
# concurrent.futures call at the bottom of a wait, on every version 3.8+.
BLOCKING_LINE = re.compile(
    r"\b_?(acquire|wait|waitpid|join|get|sleep|select|poll|recv\w*|read\w*|accept|_?enter(?:__)?)\s*\(")

POLL = 0.05  # seconds between looks at the stacks
SETTLE = 0.2  # seconds the stacks must stay unchanged


class NotReady(Exception):
    """Raised by a readiness check: the hang is not reached yet (message says why)."""


def parser(doc):
    """An ArgumentParser with the protocol's options; the program adds its own."""
    p = argparse.ArgumentParser(description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ready", metavar="FILE",
                   help="write the ready JSON here once the program has reached its hang")
    p.add_argument("--ready-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="give up (error JSON, exit 1) if the hang is not reached by then")
    return p


# The directory the program started in: a relative path of its code (3.8's
# script) stays relative to it after the program changes directory.
_START = os.getcwd()


def _abs(path):
    if path.startswith("<"):  # "<frozen importlib._bootstrap>", "<string>"
        return path
    return os.path.normpath(os.path.join(_START, path))


class Harness:
    """Knows the program's markers and writes its ready file."""

    def __init__(self, args):
        self.args = args
        main = sys.modules["__main__"]
        self.program = _abs(main.__file__)
        self.markers = {}
        with open(self.program, encoding="utf-8") as f:
            for lineno, text in enumerate(f, 1):
                for name in MARKER.findall(text):
                    if name in self.markers:
                        raise ValueError("marker %r twice in %s (lines %d, %d)"
                                         % (name, self.program, self.markers[name], lineno))
                    self.markers[name] = lineno

    def line(self, marker):
        """The line number of a `# BLOCK:marker` or `# SITE:marker` comment."""
        return self.markers[marker]

    # -- looking at the threads ------------------------------------------------------

    def snapshot(self, exclude=None, io=None):
        """Every thread's Python stack, innermost frame first, except thread `exclude`.
        io: the file calls to use (FILES, or KeptGIL())."""
        io = io or FILES
        by_ident = {t.ident: t for t in threading.enumerate()}
        main = threading.main_thread()
        frames = sys._current_frames()
        frame = None
        threads = []
        try:
            for ident, frame in sorted(frames.items()):
                if ident == exclude:
                    continue
                stack = frame_stack(frame)
                t = by_ident.get(ident)
                native_id = getattr(t, "native_id", None)
                threads.append({
                    "ident": ident,
                    "native_id": native_id,
                    "name": t.name if t is not None else None,
                    "main": t is main,
                    "daemon": t.daemon if t is not None else None,
                    "os_name": os_name(native_id, io),
                    "frames": stack,
                })
        finally:
            del frames, frame  # frames keep their locals alive; drop them at once
        return threads

    def own_frame(self, thread):
        """The thread's innermost frame in the program's own file, or None."""
        for f in thread["frames"]:
            if f["file"] == self.program:
                return f
        return None

    def is_blocked_at(self, thread, *markers):
        """True when the thread waits in the call on one of the marker lines."""
        own = self.own_frame(thread)
        if own is None or own["line"] not in [self.markers[m] for m in markers]:
            return False
        inner = thread["frames"][0]
        return inner is own or library_line_blocks(inner)

    # -- the watcher -----------------------------------------------------------------

    def watch(self, wait_for, expect=None):
        """Start the watcher thread and return at once.

        wait_for: {thread name: marker or tuple of markers} — those threads must be blocked
        there; or a function(snapshot) -> list of the threads (dicts from the snapshot) whose
        stacks must be stable, raising NotReady while the hang is not reached.
        expect: a dict, or a function(snapshot) -> dict, evaluated once ready.
        """
        if isinstance(wait_for, dict):
            wait_for = self.blocked(wait_for)
        w = threading.Thread(target=self._watch, args=(wait_for, expect),
                             name="ready-watcher", daemon=True)
        w.start()
        return w

    def blocked(self, spec):
        """A readiness check: {thread name: marker or tuple of markers}, all blocked there."""
        spec = dict(spec)
        for name, markers in spec.items():
            if isinstance(markers, str):
                markers = (markers,)
            for m in markers:
                if m not in self.markers:
                    raise ValueError("no marker %r in %s" % (m, self.program))
            spec[name] = markers

        def check(snapshot):
            named = {t["name"]: t for t in snapshot}
            out = []
            for name, markers in spec.items():
                t = named.get(name)
                if t is None:
                    raise NotReady("no thread named %r" % name)
                if not self.is_blocked_at(t, *markers):
                    raise NotReady("%s not blocked at %s (at %s)"
                                   % (name, "/".join(markers), where(t)))
                out.append(t)
            return out
        return check

    def _watch(self, wait_for, expect):
        me = threading.get_ident()
        deadline = time.monotonic() + self.args.ready_timeout
        reason = "not looked yet"
        snapshot = []
        try:
            while time.monotonic() < deadline:
                snapshot = self.snapshot(exclude=me)
                try:
                    watched = wait_for(snapshot)
                    before = stacks(watched)
                    time.sleep(SETTLE)
                    snapshot = self.snapshot(exclude=me)
                    watched = wait_for(snapshot)
                    if stacks(watched) != before:
                        raise NotReady("stacks still moving")
                except NotReady as e:
                    reason = str(e)
                    time.sleep(POLL)
                    continue
                if callable(expect):
                    expect = expect(snapshot)
                self._write(self._report(me, snapshot, expect or {}))
                return
            reason = "timed out after %gs: %s" % (self.args.ready_timeout, reason)
        except Exception as e:  # a bug here must not look like a hang
            reason = "watcher failed: %r" % (e,)
        self._fail(reason, snapshot)

    def _report(self, watcher, snapshot, expect):
        w = threading.current_thread()
        return {
            "pid": os.getpid(),
            "python": platform.python_version(),
            "executable": sys.executable,
            "program": self.program,
            "argv": sys.argv,
            "markers": self.markers,
            "watcher_ident": watcher,
            "watcher_native_id": getattr(w, "native_id", None),
            "threads": snapshot,
            "expect": expect,
        }

    def _write(self, report, io=None):
        io = io or FILES
        if not self.args.ready:
            sys.stderr.write("ready: pid %d (%s)\n" % (os.getpid(), os.path.basename(self.program)))
            sys.stderr.flush()
            return
        tmp = self.args.ready + ".tmp"
        # os.open and bytes: while Py_FinalizeEx clears modules (blocking_now),
        # builtins lack open() and the codec registry may be gone.
        data = json.dumps(report, indent=1, sort_keys=True).encode("utf-8")
        fd = io.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            while data:
                data = data[io.write(fd, data):]
        finally:
            io.close(fd)
        io.rename(tmp, self.args.ready)

    def _fail(self, reason, snapshot):
        sys.stderr.write("%s: not ready: %s\n" % (os.path.basename(self.program), reason))
        sys.stderr.flush()
        try:
            if self.args.ready:
                self._write({"error": reason, "pid": os.getpid(),
                             "python": platform.python_version(), "threads": snapshot})
        finally:
            os._exit(1)

    # -- blocking where no watcher can run -------------------------------------------

    def blocking_now(self, marker, expect):
        """Write the ready file now: the calling thread blocks in its next call, on the
        `marker` line of its innermost frame (the caller of this method), at a time no
        watcher thread could run Python (Py_FinalizeEx is tearing the interpreter down).
        The recorded stack is the one it will block with: that frame stands on the marker
        line. The harness's own frames are left out."""
        me = threading.get_ident()
        here = _abs(__file__)
        snapshot = self.snapshot()
        for t in snapshot:
            if t["ident"] == me:
                frames = [f for f in t["frames"] if f["file"] != here]
                frames[0]["line"] = self.line(marker)
                frames[0].pop("positions", None)
                t["frames"] = frames
        report = self._report(None, snapshot, expect)
        report["watcher_native_id"] = None
        self._write(report)

    # -- crashes ---------------------------------------------------------------------

    def about_to_crash(self, call_marker, callee, crash_marker, expect, io=None):
        """Write the ready file now: the calling thread will crash in its next call.

        The recorded stack is the one at the crash: the caller stands on the `call_marker`
        line, and `callee` (a function or method) is one frame further in, on the
        `crash_marker` line; with `callee` None, the caller itself makes the fatal call on
        the `call_marker` line. The harness's own frames are left out.
        """
        me = threading.get_ident()
        here = _abs(__file__)
        snapshot = self.snapshot(io=io)
        for t in snapshot:
            if t["ident"] == me:
                frames = [f for f in t["frames"] if f["file"] != here]
                frames[0]["line"] = self.line(call_marker)
                frames[0].pop("positions", None)
                if callee is not None:
                    code = getattr(callee, "__func__", callee).__code__
                    frames.insert(0, {
                        "function": code.co_name,
                        "qualname": getattr(code, "co_qualname", code.co_name),
                        "file": _abs(code.co_filename),
                        "line": self.line(crash_marker),
                    })
                t["frames"] = frames
        report = self._report(None, snapshot, expect)
        report["watcher_native_id"] = None
        self._write(report, io)

    def about_to_block(self, call_marker, expect):
        """Write the ready file now: the calling thread's next call, on the `call_marker`
        line, blocks while it keeps the GIL, so no thread (and no watcher) can run Python
        after it. The recorded stacks are those of that moment.

        The file is read and written through KeptGIL: with os.open and os.write, a thread
        that runs Python could take the GIL, and under load the caller could wait for it
        for many switch intervals before it reaches its blocking call."""
        self.about_to_crash(call_marker, None, None, expect, KeptGIL())


_positions = {}  # code object -> list(co_positions()), computed once


def frame_stack(frame, limit=100000):
    """A frame and its callers as the ready file records them, innermost first."""
    stack = []
    while frame is not None and len(stack) < limit:
        code = frame.f_code
        rec = {
            "function": code.co_name,
            "qualname": getattr(code, "co_qualname", code.co_name),
            "file": _abs(code.co_filename),
            "line": frame.f_lineno,
        }
        if hasattr(code, "co_positions") and frame.f_lasti >= 0:
            pos = _positions.get(code)
            if pos is None:
                pos = _positions[code] = list(code.co_positions())
            k = frame.f_lasti // 2
            if k < len(pos):
                rec["positions"] = list(pos[k])
        stack.append(rec)
        frame = frame.f_back
    return stack


class _OSFiles:
    """The file calls the harness makes, as the os module makes them."""
    open = staticmethod(os.open)
    read = staticmethod(os.read)
    write = staticmethod(os.write)
    close = staticmethod(os.close)
    rename = staticmethod(os.rename)


FILES = _OSFiles()


class KeptGIL:
    """The same file calls made through libc with ctypes.PyDLL, which keeps the GIL
    during a call, so that no other thread can run Python meanwhile."""

    def __init__(self):
        import ctypes
        c = ctypes.PyDLL(None, use_errno=True)
        self._ctypes = ctypes
        self._open = c.open
        self._open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint]
        self._read = c.read
        self._read.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
        self._write = c.write
        self._write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
        self._close = c.close
        self._close.argtypes = [ctypes.c_int]
        self._rename = c.rename
        self._rename.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        for f in (self._open, self._close, self._rename):
            f.restype = ctypes.c_int
        for f in (self._read, self._write):
            f.restype = ctypes.c_ssize_t

    def _check(self, r, what):
        if r < 0:
            e = self._ctypes.get_errno()
            raise OSError(e, "%s: %s" % (what, os.strerror(e)))
        return r

    def open(self, path, flags, mode=0o777):
        return self._check(self._open(os.fsencode(path), flags, mode), path)

    def read(self, fd, n):
        buf = self._ctypes.create_string_buffer(n)
        got = self._check(self._read(fd, buf, n), "read")
        return buf.raw[:got]

    def write(self, fd, data):
        return self._check(self._write(fd, data, len(data)), "write")

    def close(self, fd):
        self._check(self._close(fd), "close")

    def rename(self, old, new):
        self._check(self._rename(os.fsencode(old), os.fsencode(new)), old)


def os_name(native_id, io=FILES):
    """The kernel's name of a thread (comm), None when it cannot be read: a thread
    that exits meanwhile makes the open fail (ENOENT), or the read (ESRCH)."""
    if native_id is None:
        return None
    try:
        fd = io.open("/proc/self/task/%d/comm" % native_id, os.O_RDONLY)
    except OSError:
        return None
    try:
        return io.read(fd, 64).decode("utf-8", "replace").rstrip("\n")
    except OSError:
        return None
    finally:
        io.close(fd)


def library_line_blocks(frame):
    """Whether a (library) frame's current line is a blocking call."""
    text = linecache.getline(frame["file"], frame["line"])
    return bool(BLOCKING_LINE.search(text))


def stacks(threads):
    return [(t["ident"], [(f["file"], f["line"]) for f in t["frames"]]) for t in threads]


def where(thread):
    if not thread["frames"]:
        return "no Python frames"
    f = thread["frames"][0]
    return "%s:%d %s" % (os.path.basename(f["file"]), f["line"], f["qualname"])


# What time.sleep() sleeps in: clock_nanosleep (3.11+), select or pselect6 (3.8-3.10,
# by the C library), nanosleep.
SLEEP_SYSCALLS = ("230", "23", "270", "35")


def sleeping(tid):
    """Whether thread tid of this process sleeps in time.sleep()'s system call (as /proc
    says): a thread about to keep the GIL waits for that, so that the sleeper is no GIL
    waiter."""
    try:
        with open("/proc/self/task/%d/stat" % tid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open("/proc/self/task/%d/syscall" % tid) as f:
            nr = f.read().split()[0]
    except OSError:
        return False
    return state == "S" and nr in SLEEP_SYSCALLS


def syscall_of(pid):
    """The number of the system call process pid's main thread sits in, as a string
    ("202"), "running", or None when /proc cannot tell."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            return f.read().split()[0]
    except (OSError, IndexError):
        return None


def child_in_futex(pid, name):
    """Raise NotReady until process pid (a child, called name) sits in a futex wait, as
    /proc/PID/syscall says of its main thread."""
    child_in_syscall(pid, name, 202, "futex")


def child_in_syscall(pid, name, number, call):
    """Raise NotReady until process pid (a child, called name) sits in system call number
    (x86-64; call names it), as /proc/PID/syscall says of its main thread."""
    try:
        with open("/proc/%d/syscall" % pid, encoding="ascii") as f:
            nr = f.read().split()[0]
    except OSError as e:
        raise NotReady("%s: %s" % (name, e))
    if nr != str(number):
        raise NotReady("%s not in %s yet (syscall %s)" % (name, call, nr))
