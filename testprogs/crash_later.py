"""crash_later: a process that dies of SIGSEGV when told to, for watching it first.

The main thread waits (polling every 50 ms) until the file given with --trigger exists
(with no --trigger: for --after seconds, 1 by default), then reads memory at address 0
through ctypes.string_at: SIGSEGV in libc, with the Python frame `crash` on the stack. A
"worker" thread waits on an Event meanwhile. The ready file is written once both wait.

A diagnosis at the crash should find SIGSEGV at a fault address near 0 in the main thread,
whose innermost Python frame is `crash` at the `BLOCK:crash` line.
"""

import ctypes
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def crash():
    return ctypes.string_at(0)  # BLOCK:crash


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--trigger", metavar="FILE", help="crash once FILE exists")
    p.add_argument("--after", type=float, default=1.0, help="without --trigger: crash after this long")
    args = p.parse_args()
    h = _harness.Harness(args)
    idle = threading.Event()
    threading.Thread(target=idle.wait, name="worker", daemon=True).start()
    h.watch({"MainThread": "wait"}, expect={
        "signal": "SIGSEGV",
        "python_function": "crash",
        "python_line": h.line("crash"),
        "fault_address_below": 4096,
    })
    end = time.monotonic() + args.after
    while (os.path.exists(args.trigger) if args.trigger else time.monotonic() >= end) is False:
        time.sleep(0.05)  # BLOCK:wait
    crash()
    print("not reached")


if __name__ == "__main__":
    main()
