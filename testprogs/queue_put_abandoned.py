"""queue_put_abandoned: a producer waits in put() on a full queue whose only consumer died.

"capture" puts frames to `frames`, a queue.Queue(maxsize=4). "encoder" takes them, but the
first frame is malformed: encoding it raises, and the exception ends the thread. The
producer fills the queue and then waits in put() forever. A "heartbeat" thread sleeps in
a `while True:` loop that does nothing else: it will never take a frame. The main thread
joins capture.

A diagnosis should find an abandoned wait on `frames`, an error: capture waits in put()
on a full queue (4 items, its maxsize), no thread left will take from it, the encoder
thread has ended, and heartbeat only sleeps (`sleeps_in`, the loop).
"""

import os
import queue
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

frames = queue.Queue(maxsize=4)


def encode():
    while True:
        frame = frames.get()
        print(len(frame))  # the first frame is None: this raises, and ends the thread


def capture():
    frames.put(None)
    for n in range(100):
        frames.put(b"\0" * n)  # BLOCK:put


def beat():
    while True:
        time.sleep(60)  # BLOCK:beat


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    threading.excepthook = lambda args: None  # the encoder's death is the point
    encoder = threading.Thread(target=encode, name="encoder")
    # Every thread starts before the encoder dies: one started after could
    # get its ident (glibc hands the dead thread's stack to the next), and the
    # Thread object of the encoder would not read as ended.
    threading.Thread(target=beat, name="heartbeat", daemon=True).start()
    encoder.start()
    producer = threading.Thread(target=capture, name="capture")
    producer.start()
    encoder.join()
    h.watch({"capture": "put", "heartbeat": "beat", "MainThread": "main"},
            expect={"abandoned": "queue-put", "object": "frames", "waiters": ["capture"],
                    "queued": 4, "ended": ["encoder"], "sleeper": "heartbeat"})
    producer.join()  # BLOCK:main


if __name__ == "__main__":
    main()
