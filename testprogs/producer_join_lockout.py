"""producer_join_lockout: the main thread joins a consumer while it holds the lock the
producer needs before its put().

The main thread takes `config_lock` in a with block, starts "consumer", which waits in
get() on the empty queue `work`, and "producer", which takes `config_lock` before it
puts, and joins the consumer inside its block. The producer waits for the lock, the main
thread for the consumer to end, the consumer for an item.

A diagnosis should find the consumer starved, an error, with the lockout through the main
thread: the producer's put() would end the wait, but the producer waits for
`config_lock`, which the main thread holds while it waits for the consumer. The summary
names the main thread, whose join inside the with block is what to change; the consumer
holds nothing.
"""

import os
import queue
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

config_lock = threading.Lock()
work = queue.Queue()


def produce():
    with config_lock:  # BLOCK:producer
        for i in range(5):
            work.put(i)


def consume():
    while True:
        if work.get() is None:  # BLOCK:consumer
            return


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    with config_lock:
        consumer = threading.Thread(target=consume, name="consumer")
        producer = threading.Thread(target=produce, name="producer")
        consumer.start()
        producer.start()
        h.watch({"consumer": "consumer", "producer": "producer", "MainThread": "main"},
                expect={"lockout": {"kind": "starved-consumers", "waiter": "consumer", "feeder": "producer",
                                    "holder": "MainThread", "severity": "error"}})
        consumer.join()  # BLOCK:main


if __name__ == "__main__":
    main()
