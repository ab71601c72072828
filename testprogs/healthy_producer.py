"""healthy_producer: consumers wait on empty queues whose producer is alive, between puts.

"consumer" waits in `jobs.get()` (a queue.Queue, no timeout) and "fast-consumer" in
`results.get()` (a queue.SimpleQueue, no timeout); both queues are empty. "producer" puts
to both every second and sleeps in between. Neither queue is a module global: each thread
gets them as arguments, so the producer is known as one by the queues its frame holds. The
main thread sleeps. The queues are empty and the waits have no timeout, but a live thread
feeds them: a diagnosis must report no finding (starved-consumers looks alike).
"""

import os
import queue
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402


def consume(jobs):
    while True:
        job = jobs.get()  # BLOCK:consume
        print("job", job)


def consume_fast(results):
    while True:
        result = results.get()  # BLOCK:consume-fast
        print("result", result)


def produce(jobs, results):
    for n in range(1000000):
        time.sleep(1)  # BLOCK:produce
        jobs.put(n)
        results.put(n * n)


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    jobs, results = queue.Queue(), queue.SimpleQueue()
    threading.Thread(target=consume, args=(jobs,), name="consumer", daemon=True).start()
    threading.Thread(target=consume_fast, args=(results,), name="fast-consumer", daemon=True).start()
    threading.Thread(target=produce, args=(jobs, results), name="producer", daemon=True).start()
    del jobs, results  # only the threads hold them
    h.watch({"consumer": "consume", "fast-consumer": "consume-fast", "producer": "produce",
             "MainThread": "main"}, expect={"healthy": True})
    while True:
        time.sleep(3600)  # BLOCK:main


if __name__ == "__main__":
    main()
