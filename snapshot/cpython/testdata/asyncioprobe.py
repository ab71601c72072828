"""Reads asyncio's C task fields at the offsets pyhang's layout table gives, from inside.

Usage: python asyncioprobe.py '{"FutLoop": 16, ...}'   (the Asyncio part of the table)

Creates tasks in known states (one suspended in an await chain, one finished, one
cancelled, one named, one left unnamed) and prints one JSON line: for each check, what
the memory at the table's offset holds and what asyncio itself says, and the opcode
numbers pyhang relies on, as this interpreter's opcode module numbers them.
"""

import asyncio
import ctypes
import json
import sys

off = json.loads(sys.argv[1])
checks = []


def word(addr):
    return ctypes.c_uint64.from_address(addr).value


def i32(addr):
    return ctypes.c_int32.from_address(addr).value


def check(what, got, want):
    checks.append({"what": what, "got": got, "want": want})


async def inner(ev):
    await ev.wait()


async def outer(ev):
    await inner(ev)


async def quick():
    return 1


async def main():
    loop = asyncio.get_running_loop()
    ev = asyncio.Event()
    waiting = asyncio.ensure_future(outer(ev))
    unnamed = asyncio.ensure_future(outer(ev))
    named = asyncio.ensure_future(outer(ev))
    named.set_name("probe-name")
    done = asyncio.ensure_future(quick())
    cancelled = asyncio.ensure_future(outer(ev))
    await asyncio.sleep(0)
    await done
    cancelled.cancel()
    try:
        await cancelled
    except asyncio.CancelledError:
        pass

    a = id(waiting)
    check("task_loop", word(a + off["FutLoop"]), id(loop))
    check("task_fut_waiter", word(a + off["TaskFutWaiter"]), id(waiting._fut_waiter))
    check("task_coro", word(a + off["TaskCoro"]), id(waiting.get_coro()))
    check("fut_state pending", i32(a + off["FutState"]), 0)
    check("fut_state finished", i32(id(done) + off["FutState"]), 2)
    check("fut_state cancelled", i32(id(cancelled) + off["FutState"]), 1)
    fut = waiting._fut_waiter
    check("future fut_state pending", i32(id(fut) + off["FutState"]), 0)
    check("future fut_loop", word(id(fut) + off["FutLoop"]), id(loop))

    name = ctypes.cast(word(id(named) + off["TaskName"]), ctypes.py_object).value
    check("task_name given", name, "probe-name")
    raw = ctypes.cast(word(id(unnamed) + off["TaskName"]), ctypes.py_object).value
    lazy = raw if isinstance(raw, str) else "Task-%d" % raw
    check("task_name unnamed (before get_name)", lazy, unnamed.get_name())
    ev.set()
    await asyncio.gather(waiting, unnamed, named)


asyncio.run(main())

import dis  # noqa: E402
import opcode  # noqa: E402

ops = dict(opcode.opmap)
ops.update(getattr(dis, "_all_opmap", {}))
ops.update(getattr(opcode, "_specialized_opmap", {}) or {})
print(json.dumps({"checks": checks,
                  "opcodes": {k: ops.get(k) for k in ("YIELD_FROM", "RESUME", "RESUME_QUICK", "INSTRUMENTED_RESUME")}}))
