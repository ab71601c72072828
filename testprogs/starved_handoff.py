"""starved_handoff: a consumer waits on a Condition hand-off whose producer is gone.

Mailbox is a one-slot hand-off built on a threading.Condition: take() waits until an item
is there, give() puts one and notifies. "reader" takes messages forever; "writer" gives
three and then dies of an exception before its fourth. The main thread joins the reader.
The reader waits in Condition.wait() with no timeout, nobody can notify it any more (the
writer is gone, the main thread waits in join), so the process never ends.

A diagnosis should find starved-consumers on the mailbox's condition (the reader), with
every other thread blocked.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


class Mailbox:
    def __init__(self):
        self.ready = threading.Condition()
        self.items = []

    def give(self, item):
        with self.ready:
            self.items.append(item)
            self.ready.notify()

    def take(self):
        with self.ready:
            while not self.items:
                self.ready.wait()  # BLOCK:take
            return self.items.pop(0)


def read(box):
    while True:
        print("got", box.take())


def write(box):
    for n in range(3):
        box.give(n)
    raise RuntimeError("the writer dies before its last message")


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    box = Mailbox()
    reader = threading.Thread(target=read, args=(box,), name="reader")
    writer = threading.Thread(target=write, args=(box,), name="writer")
    threading.excepthook = lambda args: None  # the writer's death is expected
    reader.start()
    writer.start()
    writer.join()

    def ready(snapshot):
        if any(t["name"] == "writer" for t in snapshot):
            raise _harness.NotReady("the writer is still alive")
        return h.blocked({"reader": "take", "MainThread": "main"})(snapshot)

    h.watch(ready, expect={"starved": ["reader"], "queue": "Mailbox.ready",
                           "blocked_others": ["MainThread"]})
    reader.join()  # BLOCK:main


if __name__ == "__main__":
    main()
