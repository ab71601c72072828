"""Print what calling.go assumes about this interpreter's bytecode, as JSON.

Run under any CPython 3.8+ (no arguments):

    python3.X callops.py

One JSON object:

    {"version": "3.13.0",
     "before_with": n | null,        opcode.opmap["BEFORE_WITH"]
     "before_with_caches": n,        inline cache entries after BEFORE_WITH
     "call": [...], "call_kw": [...],   CALL / CALL_KW with their specialised
                                        and instrumented forms (sorted)
     "withs": n,                     with statements compiled (see below)
     "bad_withs": [...]}             the ones that break the assumption

For every `with` statement in the code objects of a sample of stdlib modules
(compiled by this interpreter), it checks the shape calling.go reads:
3.11-3.13: an exception-table entry starts at the unit after BEFORE_WITH,
with lasti set and a depth of at least 1 (the slot under it is the
manager's); 3.14: `LOAD_SPECIAL __enter__` is followed by `CALL 0`.
"""

import dis
import json
import opcode
import os
import sys
import sysconfig

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dumpcode import MODULES, source_path, walk  # noqa: E402


def family(name):
    ops = set()
    if name in opcode.opmap:
        ops.add(opcode.opmap[name])
    instrumented = "INSTRUMENTED_" + name
    if instrumented in opcode.opmap:
        ops.add(opcode.opmap[instrumented])
    smap = getattr(opcode, "_specialized_opmap", {})
    for spec in getattr(opcode, "_specializations", {}).get(name, []):
        if spec in smap:
            ops.add(smap[spec])
    return sorted(ops)


def caches(name):
    ic = getattr(opcode, "_inline_cache_entries", None)
    if ic is None or name not in opcode.opmap:
        return 0
    if isinstance(ic, dict):
        return ic.get(name, 0)
    return ic[opcode.opmap[name]]


def check_withs(code, qual, bad):
    n = 0
    instrs = list(dis.get_instructions(code))
    if "BEFORE_WITH" in opcode.opmap:
        entries = dis._parse_exception_table(code)
        starts = {e.start: e for e in entries}  # byte offsets
        for ins in instrs:
            if ins.opname != "BEFORE_WITH":
                continue
            n += 1
            e = starts.get(ins.offset + 2 * (1 + caches("BEFORE_WITH")))
            if e is None or not e.lasti or e.depth < 1:
                bad.append("%s at %d: entry %r" % (qual, ins.offset, e))
    elif "LOAD_SPECIAL" in opcode.opmap:
        for i, ins in enumerate(instrs):
            if ins.opname != "LOAD_SPECIAL" or ins.argrepr != "__enter__":
                continue
            n += 1
            nxt = instrs[i + 1] if i + 1 < len(instrs) else None
            if nxt is None or nxt.opname != "CALL" or nxt.arg != 0:
                bad.append("%s at %d: followed by %r" % (qual, ins.offset, nxt and nxt.opname))
    return n


def main():
    stdlib = sysconfig.get_paths()["stdlib"]
    withs, bad = 0, []
    for mod in MODULES:
        path = source_path(stdlib, mod)
        if path is None:
            continue
        with open(path, "rb") as f:
            top = compile(f.read(), path, "exec")
        for qual, code in walk(top):
            withs += check_withs(code, mod + ":" + qual, bad)
    print(json.dumps({
        "version": "%d.%d.%d" % sys.version_info[:3],
        "before_with": opcode.opmap.get("BEFORE_WITH"),
        "before_with_caches": caches("BEFORE_WITH"),
        "call": family("CALL"),
        "call_kw": family("CALL_KW"),
        "withs": withs,
        "bad_withs": bad[:20],
    }))


if __name__ == "__main__":
    main()
