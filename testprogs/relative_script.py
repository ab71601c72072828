"""relative_script: a script started by a bare relative name whose sys.path[0] has moved.

Run as `python relative_script.py --ready FILE` from the program's own folder: Python up to
3.8 names the script's code "relative_script.py", relative to the directory it was started
in (3.9+ make it absolute). With --decoy the program writes a file of its own name holding
only comments into the folder "decoy" beside its ready file and puts that folder first on
sys.path, as a program that puts its parent folder first does. With --subinterpreter it
creates a subinterpreter, which has a sys.path of its own, and keeps it. Then "clerk" waits in
Desk.serve() for an Event no one sets, and the main thread joins it.

A report must quote the script's own lines for its frames, live and from a core (or say
that it cannot): never the decoy's comments, and never lose them to the subinterpreter's
sys.path. Where the evidence for the file is indirect (a core records no working
directory), a warning says what the lines were found by.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


class Desk:
    def __init__(self):
        self.open = threading.Event()

    def serve(self):
        self.open.wait()  # BLOCK:serve


def plant_decoy(beside):
    """Write a same-named file of comments into beside/decoy; put that folder first on sys.path."""
    here = os.path.realpath(__file__)
    with open(here, encoding="utf-8") as f:
        n = len(f.read().splitlines())
    decoy = os.path.join(os.path.dirname(os.path.abspath(beside)), "decoy")
    os.makedirs(decoy, exist_ok=True)
    with open(os.path.join(decoy, os.path.basename(here)), "w", encoding="utf-8") as f:
        f.writelines("# decoy line %d\n" % i for i in range(1, n + 1))
    sys.path.insert(0, decoy)


def create_subinterpreter():
    """Create a subinterpreter and return its id, which keeps it: it ends with the last reference."""
    try:
        import _interpreters as interpreters  # 3.13+
    except ImportError:
        import _xxsubinterpreters as interpreters  # 3.8-3.12
    return interpreters.create()


def main():
    p = _harness.parser(__doc__)
    p.add_argument("--decoy", action="store_true",
                   help="put a folder holding a decoy of this file first on sys.path")
    p.add_argument("--subinterpreter", action="store_true", help="create a subinterpreter")
    args = p.parse_args()
    h = _harness.Harness(args)
    if args.decoy:
        plant_decoy(args.ready)
    sub = create_subinterpreter() if args.subinterpreter else None  # noqa: F841 (kept)
    t = threading.Thread(target=Desk().serve, name="clerk")
    t.start()
    h.watch({"clerk": "serve", "MainThread": "main"}, expect={"sys_path0": sys.path[0]})
    t.join()  # BLOCK:main


if __name__ == "__main__":
    main()
