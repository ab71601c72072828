"""gil_held_in_native: a C call made through ctypes.PyDLL blocks forever and keeps the GIL.

"blocker" calls libc's pause() through ctypes.PyDLL, which, unlike ctypes.CDLL, keeps the
GIL during the call. pause() returns only when a signal handler runs, so the GIL is never
released. Three "worker" threads run a Python loop: once the blocker holds the GIL they
wait for it forever. The main thread sleeps in time.sleep() (GIL released), and could not
run Python either once it wakes.

A diagnosis should find gil-held-in-native: blocker holds the GIL in pause (libc), called
through ctypes from hold_gil at the BLOCK:pause line; the workers wait for the GIL.

No thread can run Python after the call, so the ready file is written just before it (the
blocker first waits until the main thread sleeps in the kernel: it is then no GIL waiter);
the test then waits until blocker sits in pause and the others in their system calls.
"""

import ctypes
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

WORKERS = 3

libc = ctypes.PyDLL(None)  # the process's own symbols: libc's pause(), GIL kept
libc.pause.argtypes = []
libc.pause.restype = ctypes.c_int
running = threading.Semaphore(0)


def work():
    running.release()
    n = 0
    while True:
        n = (n * 31 + 1) % 1000003  # BLOCK:work



def hold_gil(h):
    for _ in range(WORKERS):
        running.acquire()
    main = threading.main_thread().native_id
    while not _harness.sleeping(main):
        time.sleep(0.01)
    # From here on the workers wait for the GIL; between two waits they look at it, every
    # switch interval (5 ms). At 1 s they sleep in the kernel nearly all the time, so that
    # a snapshot of a loaded machine does not catch them all between two waits (as
    # running, GIL none); which of them are caught waiting does not change the finding.
    sys.setswitchinterval(1.0)
    h.about_to_block("pause", expect={
        "gil_holder": "blocker",
        "gil_waiters": ["worker-%d" % i for i in range(WORKERS)],
        "holder_function": "pause",
        "holder_python_function": "hold_gil",
        "holder_line": h.line("pause"),
    })
    libc.pause()  # BLOCK:pause  never returns, and keeps the GIL


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for i in range(WORKERS):
        threading.Thread(target=work, name="worker-%d" % i, daemon=True).start()
    threading.Thread(target=hold_gil, args=(h,), name="blocker", daemon=True).start()
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
