"""self_deadlock: one thread waits for a Lock it already holds.

"reloader" takes the plain Lock `config_lock` in a `with` block and calls apply_config(),
which does `with config_lock:` again. A Lock is not reentrant, so the thread waits on itself
forever. The main thread joins it.

A diagnosis should find a deadlock of one thread: reloader waits for config_lock, and its
own outer `with` block (in reload_config) holds it.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

config_lock = threading.Lock()
config = {}


def apply_config(new):
    with config_lock:  # BLOCK:inner
        config.update(new)


def reload_config():
    with config_lock:  # SITE:outer
        apply_config({"debug": True})


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--chdir", metavar="DIR", help="change to DIR once started, as a daemon does")
    args = p.parse_args()
    h = _harness.Harness(args)
    if args.chdir:
        os.chdir(args.chdir)
    t = threading.Thread(target=reload_config, name="reloader")
    t.start()
    h.watch({"reloader": "inner", "MainThread": "main"},
            expect={"cycle_threads": ["reloader"], "locks": ["config_lock"],
                    "held_at": h.line("outer"), "waits_at": h.line("inner")})
    t.join()  # BLOCK:main


if __name__ == "__main__":
    main()
