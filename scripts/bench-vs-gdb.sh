#!/usr/bin/env bash
# Times pyhang against gdb's py-bt on the same hung process: testprogs/parked.py with
# $THREADS threads (default 200) each $DEPTH (default 100) levels deep, under a pyenv
# Python (default 3.12.1; pass another version as the first argument).
#
#   scripts/bench-vs-gdb.sh [PYENV_VERSION]
#   RUNS=5 GDB_RUNS=2 THREADS=200 DEPTH=100 PYHANG=path/to/pyhang scripts/bench-vs-gdb.sh 3.8.18
#
# Measured, all on one process: `pyhang dump PID --format json` (median of $RUNS), gdb
# `thread apply all py-bt` ($GDB_RUNS runs, median), gcore, and `pyhang dump CORE` on that
# core (median of $RUNS). py-bt comes from the pythonX.Y-gdb.py that pyenv installs next to
# the executable; it is sourced explicitly (gdb's auto-load would decline it under the
# default safe-path), and the script checks that py-bt printed as many frames as pyhang.
# Wall-clock times on a shared machine: compare ratios, not absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${1:-3.12.1}
RUNS=${RUNS:-5}
GDB_RUNS=${GDB_RUNS:-2}
THREADS=${THREADS:-200}
DEPTH=${DEPTH:-100}
PYENV_ROOT=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}
prefix=$PYENV_ROOT/versions/$VERSION
minor=$(echo "$VERSION" | cut -d. -f1,2)
python=$prefix/bin/python$minor
gdbpy=$prefix/bin/python$minor-gdb.py

die() { echo "bench-vs-gdb: $*" >&2; exit 1; }
[[ -x $python ]] || die "no pyenv Python $VERSION at $python"
[[ -f $gdbpy ]] || die "no $gdbpy: this pyenv build has no gdb extension, py-bt is unavailable"
command -v gdb >/dev/null || die "gdb not found (scripts/install-test-deps.sh installs it)"
command -v gcore >/dev/null || die "gcore not found (scripts/install-test-deps.sh installs it)"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-vs-gdb.XXXXXX")
pid=
cleanup() {
    if [[ -n $pid ]]; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true # reaped here, so bash reports no "Killed"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

pyhang=${PYHANG:-}
if [[ -z $pyhang ]]; then
    pyhang=$work/pyhang
    go build -o "$pyhang" ./cmd/pyhang
fi

# json FILE EXPR: evaluate a Python expression on the JSON document d in FILE.
json() { "$python" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "starting parked.py --threads $THREADS --depth $DEPTH under Python $VERSION"
PYTHONDONTWRITEBYTECODE=1 "$python" testprogs/parked.py --threads "$THREADS" --depth "$DEPTH" \
    --ready "$work/ready.json" --ready-timeout 300 >"$work/prog.out" 2>&1 &
pid=$!
for _ in $(seq 600); do
    [[ -s $work/ready.json ]] && break
    kill -0 "$pid" 2>/dev/null || die "parked.py exited before it was ready: $(tail -5 "$work/prog.out")"
    sleep 0.5
done
[[ -s $work/ready.json ]] || die "parked.py not ready after 300 s"
[[ $(json "$work/ready.json" "d.get('error', '')") == "" ]] || die "parked.py: $(json "$work/ready.json" "d['error']")"
watcher=$(json "$work/ready.json" "d['watcher_native_id']")
while [[ -d /proc/$pid/task/$watcher ]]; do sleep 0.05; done
want_threads=$(json "$work/ready.json" "len(d['threads'])")
want_frames=$(json "$work/ready.json" "sum(len(t['frames']) for t in d['threads'])")
echo "pid $pid ready: $want_threads threads, $want_frames Python frames"

echo "pyhang live x$RUNS"
: >"$work/live.ms"; : >"$work/paused.ms"
for _ in $(seq "$RUNS"); do
    t0=$(now_ms)
    "$pyhang" dump "$pid" --format json >"$work/live.json"
    echo $(( $(now_ms) - t0 )) >>"$work/live.ms"
    json "$work/live.json" "d['target']['paused_ms']" >>"$work/paused.ms"
done
got_frames=$(json "$work/live.json" "sum(len(t['frames']) for t in d['threads'])")
[[ $got_frames == "$want_frames" ]] || echo "WARNING: pyhang read $got_frames frames, the program has $want_frames"

echo "gdb py-bt x$GDB_RUNS"
: >"$work/gdb.ms"
for _ in $(seq "$GDB_RUNS"); do
    t0=$(now_ms)
    gdb -p "$pid" -batch -iex "set auto-load python-scripts off" -ex "source $gdbpy" \
        -ex "thread apply all py-bt" >"$work/gdb.out" 2>"$work/gdb.err" </dev/null
    echo $(( $(now_ms) - t0 )) >>"$work/gdb.ms"
done
# py-bt prints `File "…", line N, in f` per Python frame; every frame of parked.py's
# threads is in a .py file, so the count must equal pyhang's.
gdb_frames=$(grep -c '^  File "' "$work/gdb.out" || true)
[[ $gdb_frames -gt 0 ]] || die "py-bt printed no frames: $(tail -5 "$work/gdb.err")"
[[ $gdb_frames == "$got_frames" ]] || echo "WARNING: py-bt printed $gdb_frames frames, pyhang $got_frames"

echo "gcore"
t0=$(now_ms)
gcore -o "$work/core" "$pid" >"$work/gcore.out" 2>&1 || die "gcore failed: $(tail -5 "$work/gcore.out")"
gcore_ms=$(( $(now_ms) - t0 ))
core=$work/core.$pid
core_mb=$(( $(stat -c %s "$core") / 1048576 ))

echo "pyhang core x$RUNS"
: >"$work/core.ms"
for _ in $(seq "$RUNS"); do
    t0=$(now_ms)
    "$pyhang" dump "$core" --format json >"$work/core.json"
    echo $(( $(now_ms) - t0 )) >>"$work/core.ms"
done
core_frames=$(json "$work/core.json" "sum(len(t['frames']) for t in d['threads'])")

live=$(median <"$work/live.ms")
corems=$(median <"$work/core.ms")
gdbms=$(median <"$work/gdb.ms")
paused=$(median <"$work/paused.ms")
ratio=$(awk -v g="$gdbms" -v p="$live" 'BEGIN { printf "%.1f", (p > 0 ? g / p : 0) }')

echo
echo "Python $VERSION, parked.py --threads $THREADS --depth $DEPTH: $want_threads threads, $want_frames frames; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %10s   %s\n' "measure" "median" "runs"
printf '%-34s %10s   %s\n' "pyhang dump PID (ms)" "$live" "$(tr '\n' ' ' <"$work/live.ms")"
printf '%-34s %10s   %s\n' "pyhang target pause (ms, JSON)" "$paused" "$(tr '\n' ' ' <"$work/paused.ms")"
printf '%-34s %10s   %s\n' "pyhang dump CORE (ms, ${core_mb} MiB)" "$corems" "$(tr '\n' ' ' <"$work/core.ms")"
printf '%-34s %10s   %s\n' "gdb thread apply all py-bt (ms)" "$gdbms" "$(tr '\n' ' ' <"$work/gdb.ms")"
printf '%-34s %10s\n' "gcore (ms)" "$gcore_ms"
printf '%-34s %10s\n' "ratio gdb / pyhang live" "$ratio"
printf '%-34s %10s\n' "frames: pyhang live/core, py-bt" "$got_frames/$core_frames, $gdb_frames"
