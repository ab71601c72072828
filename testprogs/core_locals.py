"""core_locals: a function's locals whose values lie where a snapshot that names objects reads little of them.

The main thread blocks in `hold()`, whose locals are a 5,000-character str placed so that
its header ends a page and its characters run into the next (also a module global, `text`),
a set, a frozenset, a dict and a list of short strs, none interned. Naming the objects of a
snapshot reads only the first word or two of each value; showing the locals reads the rest.

A dump with --locals must show every local the same live, from `pyhang core` of the process
(without --full) and from any core that holds the memory. Where a core truly lacks a part of
a value, the local says it is unreadable (never `<str object at 0x…>`, the form of a type
pyhang does not decode) and target.missing says what was lost (`TestCoreLocals`).
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

PAGE = 4096
text = None
spare = []  # strs that started elsewhere in their page, kept so that the next one is new


def straddling(n):
    """A str of n characters whose header is in one page and whose characters run into the next."""
    for i in range(1000):
        s = ("A" * (n - 4)) + "%04d" % i
        if PAGE - 200 <= id(s) % PAGE <= PAGE - 64:
            return s
        spare.append(s)
    raise RuntimeError("no str of %d characters began near the end of a page" % n)


def hold(h):
    global text
    long_text = straddling(5000)
    text = long_text
    names = {"x-" + str(os.getpid())}
    frozen = frozenset({"y-" + str(os.getpid())})
    table = {"k-" + str(os.getpid()): ["v-%d" % i for i in range(3)]}
    h.watch({"MainThread": "main"},
            expect={"function": "hold", "str_addr": id(long_text),
                    "values": ["long_text", "names", "frozen", "table"]})
    threading.Event().wait()  # BLOCK:main


def main():
    hold(_harness.Harness(_harness.parser(__doc__).parse_args()))


if __name__ == "__main__":
    main()
