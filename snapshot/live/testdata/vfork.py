"""Target for TestThreadThatWillNotStop: a thread stuck in the kernel where
PTRACE_INTERRUPT cannot stop it.

usage: vfork.py DIR

posix_spawn uses vfork: the calling thread waits, killable but not
interruptible (state D), until the child execs. The child first opens DIR/fifo
for reading, which blocks until someone opens it for writing. Once the child
has run, the spawner creates DIR/spawned. DIR/info.json holds
{"pid", "spawner"} once the spawner has started.
"""

import json
import os
import sys
import threading
import time

out = sys.argv[1]
fifo = os.path.join(out, "fifo")
os.mkfifo(fifo)


def spawner():
    # posix_spawn keeps the GIL, so the info goes out first.
    with open(os.path.join(out, "info.json.tmp"), "w") as f:
        json.dump({"pid": os.getpid(), "spawner": threading.get_native_id()}, f)
    os.rename(os.path.join(out, "info.json.tmp"), os.path.join(out, "info.json"))
    pid = os.posix_spawn("/bin/true", ["true"], dict(os.environ),
                         file_actions=[(os.POSIX_SPAWN_OPEN, 0, fifo, os.O_RDONLY, 0)])
    os.waitpid(pid, 0)
    open(os.path.join(out, "spawned"), "w").close()


threading.Thread(target=spawner).start()
while True:
    time.sleep(0.01)
