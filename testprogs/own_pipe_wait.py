"""own_pipe_wait: a thread reads a pipe of its own process while holding the lock its writer needs.

The program ships its log records through a pipe (os.pipe()): "writer" threads take
`sink_lock` and write a record to the pipe; "shipper" reads the pipe and sends each record
on. The shipper takes `sink_lock` first, to flush the sink, and then reads the pipe while
holding it; no record was written yet. Both ends of the pipe belong to this process only, so
only its own threads could write the record the shipper waits for, and the writers wait
for `sink_lock`, which the shipper holds. The main thread joins the writers. A "watcher"
waits with select() for an alarm on a second pipe of the process's own, which only a
writer would send.

A live diagnosis should find every thread blocked for good: the shipper on the pipe,
whose write end no other process holds (the kernel shows who holds each end), the watcher
on the alarm pipe, polled without a timeout, the writers
on `sink_lock`, the main thread on a join. A core does not record who holds a pipe's ends,
so from a core nothing is proven and no problem is claimed.
"""

import os
import select
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

sink_lock = threading.Lock()
records, feed = os.pipe()
alarms, alarm_feed = os.pipe()


def ship(flushed):
    with sink_lock:
        flushed.set()
        os.read(records, 4096)  # BLOCK:ship


def watch():
    select.select([alarms], [], [])  # BLOCK:watch


def write(n):
    with sink_lock:  # BLOCK:write
        os.write(feed, b"record %d\n" % n)


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    flushed = threading.Event()
    threading.Thread(target=ship, args=(flushed,), name="shipper", daemon=True).start()
    flushed.wait()
    threading.Thread(target=watch, name="watcher", daemon=True).start()
    writers = [threading.Thread(target=write, args=(n,), name="writer-%d" % n) for n in range(2)]
    for t in writers:
        t.start()
    h.watch({"shipper": "ship", "watcher": "watch", "writer-0": "write", "writer-1": "write", "MainThread": "main"},
            expect={"all_blocked": True, "live_only": True,
                    "threads": ["MainThread", "shipper", "watcher", "writer-0", "writer-1"]})
    for t in writers:
        t.join()  # BLOCK:main


if __name__ == "__main__":
    main()
