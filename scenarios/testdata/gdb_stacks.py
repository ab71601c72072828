# Prints every thread's frames the way scenarios/native_test.go reads them:
#   T <lwp>
#   F <kind> <pc> <function> <msymbol-start> <msymbol> <objfile>
# kind is gdb's frame type (normal, inline, tailcall, sigtramp, ...); function
# is gdb's name for the frame (from DWARF when it has it, else the minimal
# symbol); msymbol is the ELF symbol ("info symbol") covering the frame's
# code address: the pc itself for the innermost frame and above a signal
# frame, else pc-1, the call; "-" where there is none. Sourced with
# `gdb -batch -x gdb_stacks.py`.
import re

import gdb

KINDS = {
    gdb.NORMAL_FRAME: "normal",
    gdb.DUMMY_FRAME: "dummy",
    gdb.INLINE_FRAME: "inline",
    gdb.TAILCALL_FRAME: "tailcall",
    gdb.SIGTRAMP_FRAME: "sigtramp",
    gdb.ARCH_FRAME: "arch",
    gdb.SENTINEL_FRAME: "sentinel",
}

INFO = re.compile(r"^(\S+)(?: \+ (\d+))? in section \S+(?: of (\S+))?")


def msymbol(addr):
    out = gdb.execute("info symbol %#x" % addr, to_string=True).strip()
    m = INFO.match(out)
    if not m:
        return "-", "-", "-"
    off = int(m.group(2) or 0)
    return "%#x" % (addr - off), m.group(1), m.group(3) or "-"


def main():
    inf = gdb.selected_inferior()
    for th in sorted(inf.threads(), key=lambda t: t.ptid[1]):
        th.switch()
        print("T %d" % th.ptid[1])
        f = gdb.newest_frame()
        exact = True
        n = 0
        while f is not None and n < 4096:
            n += 1
            kind = KINDS.get(f.type(), str(f.type()))
            pc = f.pc()
            look = pc if exact else pc - 1
            start, name, objfile = msymbol(look)
            print("F %s %#x %s %s %s %s" % (kind, pc, f.name() or "-", start, name, objfile))
            if kind in ("normal", "sigtramp"):
                exact = kind == "sigtramp"
            try:
                f = f.older()
            except gdb.error as e:
                print("E %s" % e)
                break
    print("DONE")


main()
