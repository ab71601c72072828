"""os_names_shared: two threads give themselves the same kernel name.

"pool-0" and "pool-1" each rename their own kernel thread "io-worker" (prctl PR_SET_NAME) and
wait on an Event, as the main thread does. CPython up to 3.13 leaves every other thread with
the process's name; Debian's 3.14 names each thread after its threading name, so there the
shared "io-worker" is the most common name, and the main thread's (the process's) is not.

A text dump must show `[OS name "io-worker"]` on both pool threads under every interpreter,
and no OS name on the main thread, whose kernel name is the process's own (`TestOSNamesText`).
"""

import ctypes
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

OS_NAME = "io-worker"
done = threading.Event()


def work():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(15, OS_NAME.encode(), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")
    done.wait()  # BLOCK:worker


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for i in range(2):
        threading.Thread(target=work, name="pool-%d" % i, daemon=True).start()
    h.watch({"pool-0": "worker", "pool-1": "worker", "MainThread": "main"},
            expect={"os_name": OS_NAME, "renamed": ["pool-0", "pool-1"]})
    done.wait()  # BLOCK:main


if __name__ == "__main__":
    main()
