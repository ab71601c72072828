"""_spawn_child: a Python program that runs another one as its child and waits for it.

`_spawn_child.py PROG [ARGS...]` runs PROG (a program of this folder) under the same
interpreter as a child process, waits for it without a timeout, and exits with its status.
The parent does nothing itself: what happens, happens in the child, which `pyhang run`
must follow and diagnose (a grandchild of pyhang's when run through a shell).
"""

import os
import subprocess
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: _spawn_child.py PROG [ARGS...]")
    prog = os.path.join(os.path.dirname(os.path.realpath(__file__)), sys.argv[1])
    sys.exit(subprocess.call([sys.executable, prog] + sys.argv[2:]))


if __name__ == "__main__":
    main()
