"""generator_held_lock: a lock held by a generator that nobody resumes.

cached_rows() is a generator that walks a shared cache inside `with cache_lock:`. The
thread "exporter" takes the first row with next() and keeps the rest for later, so the
generator stays suspended at its yield, inside the with block, holding cache_lock. Then
the exporter calls flush(), which takes `with cache_lock:` itself: it waits for a lock that
only its own suspended generator can release, and nothing will ever resume it. A second
generator, started by the main thread and left in the global `pending`, holds the lock
"stats_lock" the same way; the thread "stats" waits for it. The thread "auditor" loops
`for entry in audit_entries():` over a generator that holds "audit_lock", and takes
audit_lock in the loop's body: the generator is in none of its locals, only on its frame's
value stack, as the loop's iterator. The main thread joins the three.

A diagnosis should find a deadlock of exporter: it waits for cache_lock, held by the
generator cached_rows() in exporter's own frame, suspended at its yield inside the
with block (SITE:rows). And it should say stats_lock is held by the suspended generator
in the global `pending` (SITE:stats), not by a thread, and that stats waits for it; and
that audit_lock is held by the generator audit_entries() (SITE:audit) found on auditor's
value stack. No lock is orphaned by a lost release.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

cache_lock = threading.Lock()
stats_lock = threading.Lock()
audit_lock = threading.Lock()
cache = {"a": 1, "b": 2, "c": 3}
stats = {"hits": 0}
pending = None


def cached_rows():
    with cache_lock:
        for key, value in sorted(cache.items()):
            yield key, value  # SITE:rows


def stat_counts():
    with stats_lock:
        for key in stats:
            yield key, stats[key]  # SITE:stats


def audit_entries():
    with audit_lock:
        for key in sorted(cache):
            yield key  # SITE:audit


def audit():
    for entry in audit_entries():
        with audit_lock:  # BLOCK:audit_body
            stats[entry] = True


def flush():
    with cache_lock:  # BLOCK:flush
        cache.clear()


def export():
    rows = cached_rows()
    header = next(rows)
    flush()
    return header, list(rows)


def count():
    with stats_lock:  # BLOCK:count
        stats["hits"] += 1


def main():
    global pending
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    pending = stat_counts()
    next(pending)
    exporter = threading.Thread(target=export, name="exporter")
    counter = threading.Thread(target=count, name="stats")
    auditor = threading.Thread(target=audit, name="auditor")
    exporter.start()
    counter.start()
    auditor.start()
    h.watch({"exporter": "flush", "stats": "count", "auditor": "audit_body", "MainThread": "main"},
            expect={"generator_holds": {"cache_lock": h.line("rows"), "stats_lock": h.line("stats"),
                                        "audit_lock": h.line("audit")},
                    "generator_refs": {"stats_lock": "global", "audit_lock": "value-stack"},
                    "cycle_threads": ["exporter"], "locks": ["cache_lock"]})
    exporter.join()  # BLOCK:main
    counter.join()
    auditor.join()


if __name__ == "__main__":
    main()
