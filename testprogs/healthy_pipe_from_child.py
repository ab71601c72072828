"""healthy_pipe_from_child: own_pipe_wait's look-alike whose pipe a child process writes. Nothing is wrong.

As in own_pipe_wait, "shipper" holds `sink_lock` while it reads a pipe, and "writer"
threads wait for `sink_lock`; the main thread joins them. But the pipe's write end is the
stdout of a child process, which sleeps before it writes its record, and the program closed
its own copy of that end. A "watcher" waits with select() on a second pipe whose write end
only the child holds too. Once the child writes, the shipper returns, releases the lock and
the writers go on: every wait can end. A diagnosis must report no finding, live and from a
core (the kernel shows the child holding the write end).
"""

import os
import select
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

SLOW = "import time, sys\ntime.sleep(3600)\nsys.stdout.write('record\\n')\n"
sink_lock = threading.Lock()


def ship(records, flushed):
    with sink_lock:
        flushed.set()
        os.read(records, 4096)  # BLOCK:ship


def watch(alarms):
    select.select([alarms], [], [])  # BLOCK:watch


def write():
    with sink_lock:  # BLOCK:write
        pass


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    records, feed = os.pipe()
    alarms, alarm_feed = os.pipe()
    subprocess.Popen([sys.executable, "-c", SLOW], stdout=feed, pass_fds=(alarm_feed,))
    os.close(feed)
    os.close(alarm_feed)
    threading.Thread(target=watch, args=(alarms,), name="watcher", daemon=True).start()
    flushed = threading.Event()
    threading.Thread(target=ship, args=(records, flushed), name="shipper", daemon=True).start()
    flushed.wait()
    writers = [threading.Thread(target=write, name="writer-%d" % n) for n in range(2)]
    for t in writers:
        t.start()
    h.watch({"shipper": "ship", "watcher": "watch", "writer-0": "write", "writer-1": "write", "MainThread": "main"},
            expect={"healthy": True})
    for t in writers:
        t.join()  # BLOCK:main


if __name__ == "__main__":
    main()
