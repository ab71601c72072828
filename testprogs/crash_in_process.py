"""crash_in_process: the process stops itself: abort(), a fatal Python error, or a fault
that faulthandler catches and raises again.

--how abort-thread: an "aborter" thread calls os.abort() (C abort(): SIGABRT the process
    sends itself, si_code SI_TKILL) while the main thread sleeps.
--how fatal-error: the main thread calls the C API's Py_FatalError through
    ctypes.pythonapi: the interpreter prints "Fatal Python error" and calls abort().
--how faulthandler-segv: with faulthandler enabled, the main thread reads a C string at
    address 0 (ctypes.string_at(0)): strlen() faults, faulthandler's handler prints the
    tracebacks and raises SIGSEGV again, so the core records a SIGSEGV the process raised
    (SI_TKILL) with no fault address; the fault itself sits below the handler's signal frame,
    whose saved context gives its address (0: a NULL pointer). faulthandler runs its handler
    on an alternate signal stack: the stack the fault interrupted is elsewhere.
--how faulthandler-null-call: with faulthandler enabled, a "caller" thread calls a ctypes
    function pointer made from address 0: the call jumps to 0 and faults fetching the
    instruction there (pc 0, the return address on the stack top); faulthandler raises it
    again. The crash is that NULL call through ctypes, not a signal the program sent itself.
--how raise-segv: a "raiser" thread calls signal.raise_signal(SIGSEGV), as code that wants a
    core "for support" does: a SIGSEGV the process raised itself (SI_TKILL), no fault at all.
--how stack-overflow: a "deep" thread with a 128 KiB stack (threading.stack_size) recurses
    through C (list(map(descend, ...))) with the recursion limit raised out of the way, until
    its stack runs out: SIGSEGV at an address beside its stack pointer. Python 3.14 checks
    the C stack itself and raises RecursionError instead: the ready file then says to skip.

A diagnosis of the core should find crash, with the cause (abort, fatal-error, fault,
raised), the
thread that took the signal and the Python frame that made the fatal call, at the
BLOCK:<how> line. The ready file is written just before the fatal call.
"""

import ctypes
import faulthandler
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def abort_now(h):
    h.about_to_crash("abort-thread", None, None, expect={
        "signal": "SIGABRT", "cause": "abort", "thread": "aborter",
        "python_function": "abort_now", "python_line": h.line("abort-thread")})
    os.abort()  # BLOCK:abort-thread


def fatal_error(h):
    fatal = ctypes.pythonapi.Py_FatalError
    fatal.argtypes = [ctypes.c_char_p]
    fatal.restype = None
    h.about_to_crash("fatal-error", None, None, expect={
        "signal": "SIGABRT", "cause": "fatal-error", "thread": "MainThread", "via": "ctypes",
        "python_function": "fatal_error", "python_line": h.line("fatal-error")})
    fatal(b"crash_in_process: a fatal error on purpose")  # BLOCK:fatal-error


def read_null(h):
    faulthandler.enable()
    h.about_to_crash("faulthandler-segv", None, None, expect={
        "signal": "SIGSEGV", "cause": "fault", "thread": "MainThread", "via": "ctypes",
        "handler": "faulthandler", "native_function": "strlen", "null_pointer": True,
        "python_function": "read_null", "python_line": h.line("faulthandler-segv")})
    ctypes.string_at(0)  # BLOCK:faulthandler-segv


def call_null(h):
    func = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(0)
    h.about_to_crash("faulthandler-null-call", None, None, expect={
        "signal": "SIGSEGV", "cause": "fault", "thread": "caller", "via": "ctypes",
        "handler": "faulthandler", "native_function": "", "null_pointer": True,
        "python_function": "call_null", "python_line": h.line("faulthandler-null-call")})
    func(42)  # BLOCK:faulthandler-null-call


def raise_now(h):
    h.about_to_crash("raise-segv", None, None, expect={
        "signal": "SIGSEGV", "cause": "raised", "thread": "raiser",
        "python_function": "raise_now", "python_line": h.line("raise-segv")})
    signal.raise_signal(signal.SIGSEGV)  # BLOCK:raise-segv


def descend(n):
    return list(map(descend, (n + 1,)))  # BLOCK:stack-overflow


def overflow(h):
    if sys.version_info >= (3, 14):
        h.about_to_crash("stack-overflow", None, None, expect={
            "skip": "Python %d.%d checks the C stack itself: a deep recursion raises RecursionError"
                    % sys.version_info[:2]})
        return
    sys.setrecursionlimit(10 ** 7)
    h.about_to_crash("stack-overflow", None, None, expect={
        "signal": "SIGSEGV", "cause": "fault", "thread": "deep", "stack_overflow": True,
        "python_function": "descend", "python_line": h.line("stack-overflow")})
    descend(0)


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--how", choices=["abort-thread", "fatal-error", "faulthandler-segv", "faulthandler-null-call",
                                    "raise-segv", "stack-overflow"], required=True)
    args = p.parse_args()
    h = _harness.Harness(args)
    if args.how == "abort-thread":
        threading.Thread(target=abort_now, args=(h,), name="aborter").start()
        while True:
            time.sleep(3600)  # SITE:main
    elif args.how == "raise-segv":
        threading.Thread(target=raise_now, args=(h,), name="raiser").start()
        while True:
            time.sleep(3600)  # SITE:raiser-main
    elif args.how == "faulthandler-null-call":
        faulthandler.enable()
        caller = threading.Thread(target=call_null, args=(h,), name="caller")
        caller.start()
        caller.join()
    elif args.how == "fatal-error":
        fatal_error(h)
    elif args.how == "stack-overflow":
        threading.stack_size(128 << 10)
        deep = threading.Thread(target=overflow, args=(h,), name="deep")
        deep.start()
        deep.join()
    else:
        read_null(h)


if __name__ == "__main__":
    main()
