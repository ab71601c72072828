"""busy_loops: two threads spin in `for` loops whose body calls nothing, so the only place
they check for a request to drop the GIL is the jump back to the loop's head. One holds the
GIL, the other waits for it there: on 3.11 that jump has no line of its own after an `if`
(CPython reports none), and pyhang reports the loop's line, saying so. Nothing blocks; the
main thread sleeps.

expect.loop_line is the line of the `for` statement; expect.body_line its body's.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


stopping = False


def spin():
    n = 0
    for _ in iter(int, 1):  # SITE:loop
        if stopping:  # SITE:body
            n += 1


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    for name in ("spinner-a", "spinner-b"):
        threading.Thread(target=spin, name=name, daemon=True).start()
    blocked = h.blocked({"MainThread": "main"})

    def ready(snapshot):
        watched = blocked(snapshot)
        spinning = [t for t in snapshot if t["name"].startswith("spinner")
                    and h.own_frame(t) is not None and h.own_frame(t)["function"] == "spin"]
        if len(spinning) != 2:
            raise _harness.NotReady("the spinners are not spinning yet")
        return watched  # the spinners move: they are not ones to hold still

    h.watch(ready, expect={"running": ["spinner-a", "spinner-b"],
                           "loop_line": h.line("loop"), "body_line": h.line("body")})
    time.sleep(1000)  # BLOCK:main


if __name__ == "__main__":
    main()
