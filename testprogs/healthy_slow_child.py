"""healthy_slow_child: a parent waits for children that are just slow. Nothing is wrong.

"collector" runs a slow child with its stdout connected to a pipe and reads it as it
should, with communicate(); the main thread runs another slow child without pipes and
waits for it with wait(). Both children sleep before they answer: the parent's threads
wait in read() and wait4(), the children in a sleep. No wait is stuck for good: a
diagnosis must report no finding, live and from a core.
"""

import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def in_waitpid(h, thread, marker):
    """The thread waits in Popen.wait() called on the marker's line: its innermost frame
    is subprocess's _try_wait, in os.waitpid() (which the harness does not know as a
    blocking call)."""
    own = h.own_frame(thread)
    inner = thread["frames"][0]
    return own is not None and own["line"] == h.line(marker) and inner["function"] == "_try_wait"

SLOW = "import time, sys\ntime.sleep(3600)\nsys.stdout.write('done\\n')\n"


def collect():
    proc = subprocess.Popen([sys.executable, "-c", SLOW], stdout=subprocess.PIPE)
    out, _ = proc.communicate()  # BLOCK:collect


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    t = threading.Thread(target=collect, name="collector", daemon=True)
    t.start()
    proc = subprocess.Popen([sys.executable, "-c", SLOW])
    collecting = h.blocked({"collector": "collect"})

    def ready(snapshot):
        main = [t for t in snapshot if t["main"]]
        if not main or not in_waitpid(h, main[0], "wait"):
            raise _harness.NotReady("main thread not in wait() yet")
        return main + collecting(snapshot)

    h.watch(ready, expect={"healthy": True})
    proc.wait()  # BLOCK:wait


if __name__ == "__main__":
    main()
