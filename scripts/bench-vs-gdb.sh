#!/usr/bin/env bash
# Times pyhang against austin and gdb's py-bt on one hung process, all in one run:
# testprogs/parked.py with $THREADS threads (default 100) each $DEPTH (default 50) levels
# deep, under a pyenv Python (default 3.12.1; pass another version as the first argument).
#
#   scripts/bench-vs-gdb.sh [PYENV_VERSION]
#   RUNS=11 COLD_RUNS=5 PAUSE=3 GDB_RUNS=2 THREADS=200 DEPTH=100 PYHANG=path/to/pyhang \
#       AUSTIN=path/to/austin scripts/bench-vs-gdb.sh 3.8.18
#
# Measured, all on the same process, in turn:
#   - `pyhang dump PID --format json` ($RUNS runs): wall time, and the target pause it reports;
#   - `austin -w PID` ($RUNS runs, in turns with pyhang's), when $AUSTIN names an austin
#     binary (built from its public source for the measurement; it reads the stacks without
#     stopping the target);
#   - both again, $RUNS runs each in turns, each report to /dev/null, with
#     `pyhang dump PID` (text) in a third turn;
#   - both again, $COLD_RUNS runs each in turns, every run after $PAUSE seconds with
#     nothing running: as a person runs a tool once. On a virtual machine that hands free
#     memory back to its host (free page reporting), the memory a program touches costs
#     more then than in runs back to back, which reuse what the run before freed;
#   - gdb `thread apply all py-bt` ($GDB_RUNS runs), with the pythonX.Y-gdb.py pyenv installs
#     next to the executable, sourced explicitly (gdb's auto-load declines it under the
#     default safe-path); the script checks that py-bt printed as many frames as pyhang;
#   - gcore, and `pyhang dump CORE` on that core ($RUNS runs).
# Each figure is the median; pyhang, austin and gdb have their CPU time (user + system)
# measured too, steadier than wall time on a loaded machine. Wall-clock times on a shared
# machine: compare the ratios, and the load average printed with them.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${1:-3.12.1}
RUNS=${RUNS:-11}
COLD_RUNS=${COLD_RUNS:-5}
PAUSE=${PAUSE:-3}
GDB_RUNS=${GDB_RUNS:-2}
THREADS=${THREADS:-100}
DEPTH=${DEPTH:-50}
AUSTIN=${AUSTIN:-}
BENCH=bench-vs-gdb
[[ -z $AUSTIN || -x $AUSTIN ]] || { echo "$BENCH: AUSTIN=$AUSTIN is not an executable" >&2; exit 1; }
source scripts/lib-bench.sh
[[ -n ${EPOCHREALTIME:-} ]] || die "bash 5 or later is needed (for \$EPOCHREALTIME)"
export LC_NUMERIC=C # $EPOCHREALTIME with a decimal point

# cpu_of FILE: the children's CPU time (user + system) in ms from the output of times in FILE.
cpu_of() { awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }; printf "%.1f\n", t * 1000 }' "$1"; }
# timed FILE CMD…: run CMD with stdout to $work/out (or to $OUT), append its wall time in ms to FILE
# and its CPU time in ms to FILE.cpu. The clock is bash's own $EPOCHREALTIME, read
# right around CMD: a $(date …) there would count the fork of a subshell and of date
# (about 8 ms here) into every figure. times runs in this shell, outside the timed
# span, and counts CMD alone (in a pipe or $(…) it would count a subshell's children).
timed() {
    local file=$1 t0 t1
    shift
    times >"$work/times0"
    t0=$EPOCHREALTIME
    "$@" >"${OUT:-$work/out}" 2>"$work/err"
    t1=$EPOCHREALTIME
    times >"$work/times1"
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$file"
    awk -v a="$(cpu_of "$work/times0")" -v b="$(cpu_of "$work/times1")" 'BEGIN { printf "%.1f\n", b - a }' >>"$file.cpu"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (a / (b > 0 ? b : 1) < 10 ? "%.2f" : "%.1f"), (b > 0 ? a / b : 0) }'; }

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

# pyhang and austin take turns, so that both see the machine in the same
# state (on a shared virtual machine it drifts within a minute), each first
# in every other turn; nothing else runs between them: each report is moved
# aside as it is (a rename) and read after the last run, since a Python that
# parses 4 MB of JSON leaves the memory it freed to whichever tool runs next.
# Every report of either tool is kept to the end, so that each run writes its
# report into new pages of the page cache: a report moved over the tool's
# report of the turn before would free that one's pages for the next run.
echo "pyhang live x$RUNS${AUSTIN:+, austin -w x$RUNS, in turns}"
: >"$work/live.ms"; : >"$work/live.ms.cpu"; : >"$work/paused.ms"
: >"$work/austin.ms"; : >"$work/austin.ms.cpu"
live_run() {
    timed "$work/live.ms" "$pyhang" dump "$pid" --format json
    mv "$work/out" "$work/live-$1.json"
}
austin_run() {
    [[ -n $AUSTIN ]] || return 0
    timed "$work/austin.ms" "$AUSTIN" -w "$pid"
    mv "$work/out" "$work/austin-$1.out"
}
for i in $(seq "$RUNS"); do
    if ((i % 2 == 0)); then
        austin_run "$i"
        live_run "$i"
    else
        live_run "$i"
        austin_run "$i"
    fi
done
# How each dump was one instant: stopped, or read while no thread ran (idle).
python3 - "$work" "$RUNS" >"$work/consistency" <<'PY'
import json, sys
for i in range(1, int(sys.argv[2]) + 1):
    with open(f"{sys.argv[1]}/live-{i}.json") as f:
        print(json.load(f)["target"].get("consistency", "?"))
PY
# The pause, where the target is stopped: --stop stops it even when idle.
echo "pyhang live --stop x$RUNS"
: >"$work/stop.ms"; : >"$work/stop.ms.cpu"
for i in $(seq "$RUNS"); do
    timed "$work/stop.ms" "$pyhang" dump "$pid" --format json --stop
    mv "$work/out" "$work/stop-$i.json"
done
python3 - "$work" "$RUNS" >"$work/paused.ms" <<'PY'
import json, sys
for i in range(1, int(sys.argv[2]) + 1):
    with open(f"{sys.argv[1]}/stop-{i}.json") as f:
        print(json.load(f)["target"]["paused_ms"])
PY
cp "$work/live-$RUNS.json" "$work/live.json"
if [[ -n $AUSTIN ]]; then
    # The same turns with each report thrown away (/dev/null): what the tools
    # cost without their reports' page cache, where pyhang's JSON is 3.4 times
    # austin's text.
    # pyhang's text dump takes the third turn: it is what `pyhang dump PID`
    # prints, austin's like, and has a writer of its own.
    echo "pyhang live (JSON and text) and austin -w x$RUNS, in turns, each to /dev/null"
    : >"$work/null.ms"; : >"$work/austin-null.ms"; : >"$work/text-null.ms"
    for i in $(seq "$RUNS"); do
        if ((i % 2 == 0)); then
            OUT=/dev/null timed "$work/austin-null.ms" "$AUSTIN" -w "$pid"
            OUT=/dev/null timed "$work/null.ms" "$pyhang" dump "$pid" --format json
            OUT=/dev/null timed "$work/text-null.ms" "$pyhang" dump "$pid"
        else
            OUT=/dev/null timed "$work/text-null.ms" "$pyhang" dump "$pid"
            OUT=/dev/null timed "$work/null.ms" "$pyhang" dump "$pid" --format json
            OUT=/dev/null timed "$work/austin-null.ms" "$AUSTIN" -w "$pid"
        fi
    done
fi
echo "pyhang live${AUSTIN:+ and austin -w} x$COLD_RUNS, each after ${PAUSE}s idle"
: >"$work/cold.ms"; : >"$work/austin-cold.ms"
# As above, each report is moved aside: a report written over the other
# tool's would reuse the page cache that tool's report freed, and pyhang's
# report (3.7 MB on 102 threads) frees three times austin's.
for i in $(seq "$COLD_RUNS"); do
    sleep "$PAUSE"
    timed "$work/cold.ms" "$pyhang" dump "$pid" --format json
    mv "$work/out" "$work/cold-$i.json"
    if [[ -n $AUSTIN ]]; then
        sleep "$PAUSE"
        timed "$work/austin-cold.ms" "$AUSTIN" -w "$pid"
        mv "$work/out" "$work/austin-cold-$i.out"
    fi
done
got_frames=$(json "$work/live.json" "sum(len(t['frames']) for t in d['threads'])")
[[ $got_frames == "$want_frames" ]] || echo "WARNING: pyhang read $got_frames frames, the program has $want_frames"

austin_ms=
if [[ -n $AUSTIN ]]; then
    # austin -w prints one line per frame, indented, under a header per thread.
    austin_frames=$(grep -c '^    ' "$work/austin-$RUNS.out" || true)
    [[ $austin_frames -gt 0 ]] || die "austin printed no frames: $(tail -5 "$work/err")"
    austin_ms=$(median <"$work/austin.ms")
    austin_cpu=$(median <"$work/austin.ms.cpu")
    austin_cold=$(median <"$work/austin-cold.ms")
fi

echo "gdb py-bt x$GDB_RUNS"
: >"$work/gdb.ms"; : >"$work/gdb.ms.cpu"
for _ in $(seq "$GDB_RUNS"); do
    timed "$work/gdb.ms" gdb -p "$pid" -batch -iex "set auto-load python-scripts off" -ex "source $gdbpy" \
        -ex "thread apply all py-bt" </dev/null
done
# py-bt prints `File "…", line N, in f` per Python frame; every frame of parked.py's
# threads is in a .py file, so the count must equal pyhang's.
gdb_frames=$(grep -c '^  File "' "$work/out" || true)
[[ $gdb_frames -gt 0 ]] || die "py-bt printed no frames: $(tail -5 "$work/err")"
[[ $gdb_frames == "$got_frames" ]] || echo "WARNING: py-bt printed $gdb_frames frames, pyhang $got_frames"

echo "gcore"
: >"$work/gcore.ms"
timed "$work/gcore.ms" gcore -o "$work/core" "$pid" || die "gcore failed: $(tail -5 "$work/err")"
core=$work/core.$pid
core_mb=$(( $(stat -c %s "$core") / 1048576 ))

echo "pyhang core x$RUNS"
: >"$work/core.ms"; : >"$work/core.ms.cpu"
for _ in $(seq "$RUNS"); do
    timed "$work/core.ms" "$pyhang" dump "$core" --format json
done
core_frames=$(json "$work/out" "sum(len(t['frames']) for t in d['threads'])")

live=$(median <"$work/live.ms")
cold=$(median <"$work/cold.ms")
corems=$(median <"$work/core.ms")
gdbms=$(median <"$work/gdb.ms")
paused=$(median <"$work/paused.ms")
live_cpu=$(median <"$work/live.ms.cpu")
gdb_cpu=$(median <"$work/gdb.ms.cpu")

echo
echo "Python $VERSION, parked.py --threads $THREADS --depth $DEPTH: $want_threads threads, $want_frames frames; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-36s %10s   %s\n' "measure" "median" "runs"
printf '%-36s %10s   %s\n' "pyhang dump PID --format json (ms)" "$live" "$(tr '\n' ' ' <"$work/live.ms")"
printf '%-36s %10s   %s\n' "  CPU time (ms)" "$live_cpu" "$(tr '\n' ' ' <"$work/live.ms.cpu")"
printf '%-36s %10s   %s\n' "  read while idle (no stop)" "$(grep -c '^idle$' "$work/consistency" || true)/$RUNS" "$(sort "$work/consistency" | uniq -c | tr -s ' \n' ' ')"
printf '%-36s %10s   %s\n' "pyhang dump --stop (ms)" "$(median <"$work/stop.ms")" "$(tr '\n' ' ' <"$work/stop.ms")"
printf '%-36s %10s   %s\n' "pyhang target pause, --stop (ms)" "$paused" "$(tr '\n' ' ' <"$work/paused.ms")"
printf '%-36s %10s   %s\n' "pyhang, each after ${PAUSE}s idle (ms)" "$cold" "$(tr '\n' ' ' <"$work/cold.ms")"
if [[ -n $austin_ms ]]; then
    printf '%-36s %10s   %s\n' "austin -w PID (ms)" "$austin_ms" "$(tr '\n' ' ' <"$work/austin.ms")"
    printf '%-36s %10s   %s\n' "  CPU time (ms)" "$austin_cpu" "$(tr '\n' ' ' <"$work/austin.ms.cpu")"
    printf '%-36s %10s   %s\n' "austin, each after ${PAUSE}s idle (ms)" "$austin_cold" "$(tr '\n' ' ' <"$work/austin-cold.ms")"
    printf '%-36s %10s   %s\n' "pyhang to /dev/null (ms)" "$(median <"$work/null.ms")" "$(tr '\n' ' ' <"$work/null.ms")"
    printf '%-36s %10s   %s\n' "austin to /dev/null (ms)" "$(median <"$work/austin-null.ms")" "$(tr '\n' ' ' <"$work/austin-null.ms")"
    printf '%-36s %10s   %s\n' "pyhang text to /dev/null (ms)" "$(median <"$work/text-null.ms")" "$(tr '\n' ' ' <"$work/text-null.ms")"
fi
printf '%-36s %10s   %s\n' "gdb thread apply all py-bt (ms)" "$gdbms" "$(tr '\n' ' ' <"$work/gdb.ms")"
printf '%-36s %10s   %s\n' "  CPU time (ms)" "$gdb_cpu" "$(tr '\n' ' ' <"$work/gdb.ms.cpu")"
printf '%-36s %10s\n' "gcore (ms)" "$(cat "$work/gcore.ms")"
printf '%-36s %10s   %s\n' "pyhang dump CORE (ms, ${core_mb} MiB)" "$corems" "$(tr '\n' ' ' <"$work/core.ms")"
printf '%-36s %10s\n' "ratio gdb / pyhang live" "$(ratio "$gdbms" "$live")"
if [[ -n $austin_ms ]]; then
    printf '%-36s %10s\n' "ratio pyhang live / austin" "$(ratio "$live" "$austin_ms")"
    printf '%-36s %10s\n' "ratio pyhang / austin, CPU time" "$(ratio "$live_cpu" "$austin_cpu")"
    printf '%-36s %10s\n' "ratio pyhang / austin, after idle" "$(ratio "$cold" "$austin_cold")"
    printf '%-36s %10s\n' "ratio pyhang / austin, to /dev/null" "$(ratio "$(median <"$work/null.ms")" "$(median <"$work/austin-null.ms")")"
    printf '%-36s %10s\n' "ratio pyhang text / austin, /dev/null" "$(ratio "$(median <"$work/text-null.ms")" "$(median <"$work/austin-null.ms")")"
fi
printf '%-36s %10s\n' "frames: pyhang live/core, py-bt" "$got_frames/$core_frames, $gdb_frames"
