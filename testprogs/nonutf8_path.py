"""nonutf8_path: a thread waits in a module whose directory name is not UTF-8.

The program writes the module `settling` into a directory named with the bytes
b"ledger\\xff\\xfe" (beside its ready file), imports it (Python keeps such a name with
surrogate escapes, as os.fsdecode does), and "settler" blocks in settling.settle() on
`books`, a lock the main thread holds while it joins settler.

A report must name the module's file by its real bytes: the text shows the directory
as ledger\\xff\\xfe, and the line the thread waits on is quoted from the file, which only
its real name opens.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

LINE = "with books:  # settler waits here"
books = threading.Lock()


def install(beside):
    """Write settling.py into a directory whose name is not UTF-8; return its path (str)."""
    d = os.path.join(os.fsencode(os.path.dirname(os.path.abspath(beside))), b"ledger\xff\xfe")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, b"settling.py"), "w", encoding="utf-8") as f:
        f.write("def settle(books):\n    %s\n        pass\n" % LINE)
    sys.path.insert(0, os.fsdecode(d))
    import settling
    return settling


def run(settling):
    settling.settle(books)  # BLOCK:settle


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    settling = install(h.args.ready)

    def ready(snapshot):
        named = {t["name"]: t for t in snapshot}
        t = named.get("settler")
        if t is None or not t["frames"] or t["frames"][0]["function"] != "settle":
            raise _harness.NotReady("settler not yet in settle()")
        return [t, named["MainThread"]]

    with books:
        settler = threading.Thread(target=run, args=(settling,), name="settler")
        settler.start()
        h.watch(ready, expect={"file": settling.__file__, "line": 2, "source": LINE,
                               "dir_escaped": "ledger\\xff\\xfe"})
        settler.join()  # BLOCK:main


if __name__ == "__main__":
    main()
