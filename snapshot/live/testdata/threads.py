"""Target for the snapshot/live tests: threads blocked on a Lock, a sleeper,
a deleted mapped file, and a main thread that proves it keeps running.

usage: threads.py DIR [WAITERS]

Writes into DIR:
  info.json  {"pid", "sem", "main", "sleeper", "waiters", "idents", "mapped"}
             written once every thread has started; "sem" is the address of
             the sem_t inside the Lock (the futex the waiters block on),
             "idents" maps native thread ids to threading.get_ident()
             (= pthread_self() = the thread's fs_base on x86-64 glibc)
  progress   one line every 10 ms from the main thread
  events     "acquired TID" from each waiter once DIR/go exists,
             "sleeper woke" if the one-hour sleep ever ends
"""

import ctypes
import json
import mmap
import os
import sys
import threading
import time

out = sys.argv[1]
nwaiters = int(sys.argv[2]) if len(sys.argv) > 2 else 3

lock = threading.Lock()
lock.acquire()
# lockobject (3.8-3.12): PyObject_HEAD, then lock_lock, the PyThread_type_lock
# that is a sem_t* on Linux; glibc's futex word is at the sem_t's start.
ptr = ctypes.sizeof(ctypes.c_void_p)
sem = ctypes.c_void_p.from_address(id(lock) + 2 * ptr).value if sys.version_info < (3, 13) else 0

events = os.open(os.path.join(out, "events"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
idents = {}


def record(line):
    os.write(events, (line + "\n").encode())


def waiter():
    idents[threading.get_native_id()] = threading.get_ident()
    lock.acquire()
    record("acquired %d" % threading.get_native_id())
    lock.release()


def sleeper():
    idents[threading.get_native_id()] = threading.get_ident()
    time.sleep(3600)
    record("sleeper woke")


ws = [threading.Thread(target=waiter, daemon=True) for _ in range(nwaiters)]
s = threading.Thread(target=sleeper, daemon=True)
for t in ws + [s]:
    t.start()
idents[threading.get_native_id()] = threading.get_ident()
while len(idents) < nwaiters + 2:
    time.sleep(0.001)

# A mapped file that is then unlinked: its mapping reads " (deleted)".
mpath = os.path.join(out, "mapped.bin")
with open(mpath, "wb") as f:
    f.write(b"PYHANGMAPPED" + b"\0" * (4096 - 12))
fd = os.open(mpath, os.O_RDONLY)
mm = mmap.mmap(fd, 4096, prot=mmap.PROT_READ)
os.unlink(mpath)

info = {
    "pid": os.getpid(),
    "sem": sem,
    "main": threading.get_native_id(),
    "sleeper": s.native_id,
    "waiters": [t.native_id for t in ws],
    "idents": {str(k): v for k, v in idents.items()},
    "mapped": mpath,
}
with open(os.path.join(out, "info.json.tmp"), "w") as f:
    json.dump(info, f)
os.rename(os.path.join(out, "info.json.tmp"), os.path.join(out, "info.json"))

go = os.path.join(out, "go")
released = False
n = 0
with open(os.path.join(out, "progress"), "a") as f:
    while True:
        n += 1
        f.write("%d\n" % n)
        f.flush()
        if not released and os.path.exists(go):
            lock.release()
            released = True
        time.sleep(0.01)
