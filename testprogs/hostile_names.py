"""hostile_names: a deadlock whose every name carries terminal escape sequences.

Two threads deadlock on two locks, as in deadlock.py, but everything a report quotes comes
from the target and is hostile: the thread names hold an OSC title sequence and a
clear-screen sequence, the locks are module globals whose names hold escapes (set through
globals(), which takes any string), and the functions' code objects are renamed, with a
file name that holds escapes and a right-to-left override. A text report must show every
such character escaped (\\x1b, \\u202e), never raw; the JSON keeps them exact.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

POSTING = "post\x1b]0;owned\x07ing"
AUDIT = "audit\x1b[2J\x1b[H"
LEDGER = "ledger\x1b[31m"
AUDIT_LOG = "audit_log\u202egol"
FUNC = "settle\x1b[1m"
FILE = "/nonexistent/\x1b[32mevil\u202e.py"

G = globals()
G[LEDGER] = threading.Lock()
G[AUDIT_LOG] = threading.Lock()
both_hold_one = threading.Barrier(2)


def take(first, second):
    with G[first]:
        both_hold_one.wait()
        with G[second]:
            pass


def renamed(fn):
    """fn with a hostile function name and file name in its code object."""
    changes = {"co_name": FUNC, "co_filename": FILE}
    if sys.version_info >= (3, 11):
        changes["co_qualname"] = FUNC
    fn.__code__ = fn.__code__.replace(**changes)
    return fn


def ready(snapshot):
    named = {t["name"]: t for t in snapshot}
    out = []
    for name in (POSTING, AUDIT):
        t = named.get(name)
        if t is None or not t["frames"] or t["frames"][0]["function"] != FUNC:
            raise _harness.NotReady("%r not yet in %r" % (name, FUNC))
        out.append(t)
    return out


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    fn = renamed(take)
    threads = [threading.Thread(target=fn, args=(LEDGER, AUDIT_LOG), name=POSTING),
               threading.Thread(target=fn, args=(AUDIT_LOG, LEDGER), name=AUDIT)]
    for t in threads:
        t.start()
    h.watch(ready, expect={"cycle_threads": [POSTING, AUDIT], "locks": [LEDGER, AUDIT_LOG],
                           "function": FUNC, "file": FILE})
    for t in threads:
        t.join()  # BLOCK:main


if __name__ == "__main__":
    main()
