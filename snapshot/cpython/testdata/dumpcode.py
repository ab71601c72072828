"""Dump code-object tables and the interpreter's own reading of them.

Run under any CPython 3.8+ (no arguments needed):

    python3.X dumpcode.py [MODULE ...]

It compiles the source of a sample of stdlib modules (with this interpreter,
so the tables are in its own format), walks every code object recursively
through co_consts, and prints one JSON object per line:

    {"version": "3.12.1", "modules": [...], "missing": [...]}   first line
    {"m": module, "q": name, "first": co_firstlineno,
     "tbl": hex of co_lnotab (3.8/3.9) or co_linetable (3.10+),
     "lines": [...],            expected line per position, -1 = no line
     "exc": hex of co_exceptiontable (3.11+),
     "ents": [[start, end, target, depth, lasti], ...]   code units, end exclusive
     "h": [...],                index into ents per code unit, -1 = none
     "posdiff": n,              units where co_positions() disagrees with co_lines()
     "pos": [[line, end_line, col, end_col], ...]   co_positions() per code unit (3.11+), -1 = None
     "code": hex of co_code (3.10+),
     "encl": [[unit, line, basis], ...]}   the line pyhang reports for each unit without
                                            one (3.10+), worked out here with dis

Positions of "lines": 3.8/3.9 one per 2-byte instruction, position k is byte
offset 2k (f_lasti is a byte offset there); 3.10+ one per code unit, CACHE
units included (f_lasti / prev_instr count code units).

Expected values come from the interpreter's own tools, not from re-decoding:
3.10+ code.co_lines(); 3.8/3.9 dis.findlinestarts() with "the line of an
offset is that of the last line start at or before it"; exception tables
dis._parse_exception_table().
"""

import dis
import json
import os
import sys
import sysconfig
import tokenize

# Modules with many threads, locks, try/with nesting and long functions.
MODULES = [
    "threading", "queue", "concurrent.futures._base", "concurrent.futures.thread",
    "concurrent.futures.process", "json.decoder", "json.encoder", "asyncio.base_events",
    "asyncio.tasks", "asyncio.locks", "asyncio.queues", "subprocess", "socket",
    "selectors", "logging", "logging.handlers", "collections", "functools", "contextlib",
    "dataclasses", "enum", "typing", "inspect", "dis", "argparse", "os", "shutil",
    "tempfile", "pathlib", "email.message", "http.client", "urllib.parse",
    "multiprocessing.pool", "multiprocessing.synchronize", "multiprocessing.connection",
    "tarfile", "zipfile", "ast", "re", "textwrap", "difflib", "pickle", "traceback",
    "weakref", "heapq", "random", "statistics", "sched", "imaplib", "pydoc",
]


def source_path(stdlib, name):
    base = os.path.join(stdlib, *name.split("."))
    for cand in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(cand):
            return cand
    return None


CO_NEWLOCALS = 0x2  # set on function bodies, not on module or class bodies


def walk(code, qual=None):
    """Yield (qualname, code) for code and every code object nested in it.

    co_qualname only exists from 3.11; before that the name is rebuilt from
    the nesting the way the compiler does (Class.method, f.<locals>.g).
    """
    qual = getattr(code, "co_qualname", qual or code.co_name)
    yield qual, code
    for c in code.co_consts:
        if hasattr(c, "co_code"):
            if code.co_name == "<module>":
                child = c.co_name
            elif code.co_flags & CO_NEWLOCALS:
                child = qual + ".<locals>." + c.co_name
            else:
                child = qual + "." + c.co_name
            yield from walk(c, child)


def expected_lines(code):
    n = len(code.co_code) // 2
    if sys.version_info < (3, 10):
        # Line starts from dis; every even offset takes the last start <= it.
        starts = dict(dis.findlinestarts(code))
        out = []
        line = None
        for k in range(n):
            line = starts.get(2 * k, line)
            out.append(line if line is not None else -1)
        return out
    out = [-1] * n
    for start, end, line in code.co_lines():
        for off in range(start, end, 2):
            if 0 <= off // 2 < n:
                out[off // 2] = line if line is not None else -1
    return out


def positions_diff(code, lines):
    if not hasattr(code, "co_positions"):
        return 0
    diff = 0
    for k, pos in enumerate(code.co_positions()):
        want = pos[0] if pos[0] is not None else -1
        if k >= len(lines) or lines[k] != want:
            diff += 1
    return diff


def positions(code):
    if not hasattr(code, "co_positions"):
        return None
    return [[-1 if v is None else v for v in p] for p in code.co_positions()]


MAX_LINE_SCAN = 512  # as enclosingline.go's maxLineScan


def enclosing_lines(code, lines):
    """The line of every unit that has none, by pyhang's rule: a backward
    jump takes its target's line ("loop-head"); else the nearest unit before
    it with a line ("previous-instruction"); else co_firstlineno.
    Jumps and their targets are found with dis, not by decoding bytes."""
    at = {ins.offset // 2: ins for ins in dis.get_instructions(code)}
    out = []
    for k, line in enumerate(lines):
        if line != -1:
            continue
        ins = at.get(k)
        if ins is not None and ins.argval is not None and (
                "JUMP_BACKWARD" in ins.opname or ins.opname == "JUMP_ABSOLUTE"):
            target = ins.argval // 2
            if target <= k and lines[target] != -1:
                out.append([k, lines[target], "loop-head"])
                continue
        found = None
        for j in range(k - 1, max(-1, k - 1 - MAX_LINE_SCAN), -1):
            if lines[j] != -1:
                found = lines[j]
                break
        if found is not None:
            out.append([k, found, "previous-instruction"])
        else:
            out.append([k, code.co_firstlineno, "first-line"])
    return out


def exception_entries(code):
    parse = getattr(dis, "_parse_exception_table", None)
    if parse is None or not hasattr(code, "co_exceptiontable"):
        return None, None
    ents = [[e.start // 2, e.end // 2, e.target // 2, e.depth, int(e.lasti)]
            for e in parse(code)]
    h = [-1] * (len(code.co_code) // 2)
    for idx, (s, e, _, _, _) in enumerate(ents):
        for u in range(s, min(e, len(h))):
            if h[u] == -1:  # first covering entry wins, as in CPython's scan
                h[u] = idx
    return ents, h


def main(argv):
    stdlib = sysconfig.get_paths()["stdlib"]
    names = argv or MODULES
    found, missing = [], []
    for name in names:
        path = source_path(stdlib, name)
        (found if path else missing).append((name, path))
    print(json.dumps({
        "version": "%d.%d.%d" % sys.version_info[:3],
        "modules": [n for n, _ in found],
        "missing": [n for n, _ in missing],
    }))
    for name, path in found:
        with tokenize.open(path) as f:
            src = f.read()
        top = compile(src, path, "exec", dont_inherit=True)
        for qual, code in walk(top):
            if sys.version_info < (3, 10):
                tbl = code.co_lnotab
            else:
                tbl = code.co_linetable
            lines = expected_lines(code)
            rec = {
                "m": name,
                "q": qual,
                "first": code.co_firstlineno,
                "tbl": tbl.hex(),
                "lines": lines,
                "posdiff": positions_diff(code, lines),
            }
            pos = positions(code)
            if pos is not None:
                rec["pos"] = pos
            if sys.version_info >= (3, 10):
                rec["code"] = code.co_code.hex()
                rec["encl"] = enclosing_lines(code, lines)
            ents, h = exception_entries(code)
            if ents is not None:
                rec["exc"] = code.co_exceptiontable.hex()
                rec["ents"] = ents
                rec["h"] = h
            sys.stdout.write(json.dumps(rec, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
