#!/usr/bin/env bash
# Times `pyhang diagnose` on each of the talk's four examples, live and from a core,
# beside gdb's `thread apply all py-bt` on the same process and the same core, under a
# pyenv Python (default 3.12.1; pass another version as the first argument).
#
#   scripts/bench-talk.sh [PYENV_VERSION]
#   RUNS=5 GDB_RUNS=3 PYHANG=path/to/pyhang scripts/bench-talk.sh 3.12.1
#
# For each hanging example (job-queue, http-pool, readers-writers): `pyhang diagnose PID
# --format json` and gdb -p PID py-bt on the hung process (medians of $RUNS and
# $GDB_RUNS runs), then a gcore of it, and both again on that core. The crashing example
# (ctypes-crash) has no live process to look at: both read the core the kernel wrote
# when it died (core_pattern must name a file, not a program). py-bt comes from the
# pythonX.Y-gdb.py that pyenv installs next to the executable, sourced explicitly. Ratios
# are gdb's time over pyhang's: wall-clock times on a shared machine, compare ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${1:-3.12.1}
RUNS=${RUNS:-5}
GDB_RUNS=${GDB_RUNS:-3}
BENCH=bench-talk
# shellcheck source=scripts/lib-bench.sh
. scripts/lib-bench.sh
pattern=$(cat /proc/sys/kernel/core_pattern)
[[ $pattern != "|"* ]] || die "core_pattern pipes cores to a program ($pattern): the crash example needs a core file"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ratio() { awk -v g="$1" -v p="$2" 'BEGIN { printf "%.0f", (p > 0 ? g / p : 0) }'; }

# time_pyhang OUT TARGET: median ms of $RUNS `pyhang diagnose TARGET`; exit 0 or 3 (problems).
time_pyhang() {
    local out=$1 target=$2 t0 rc
    : >"$out.ms"
    for _ in $(seq "$RUNS"); do
        t0=$(now_ms)
        rc=0
        "$pyhang" diagnose "$target" --format json >"$out.json" 2>"$out.err" || rc=$?
        [[ $rc == 0 || $rc == 3 ]] || die "pyhang diagnose $target: exit $rc: $(tail -3 "$out.err")"
        echo $(( $(now_ms) - t0 )) >>"$out.ms"
    done
    median <"$out.ms"
}

# time_gdb OUT ARGS...: median ms of $GDB_RUNS gdb py-bt runs; checks py-bt printed frames.
time_gdb() {
    local out=$1 t0
    shift
    : >"$out.ms"
    for _ in $(seq "$GDB_RUNS"); do
        t0=$(now_ms)
        gdb -batch -iex "set auto-load python-scripts off" -ex "source $gdbpy" \
            -ex "thread apply all py-bt" "$@" >"$out.out" 2>"$out.err" </dev/null || true
        echo $(( $(now_ms) - t0 )) >>"$out.ms"
    done
    grep -q '^  File "' "$out.out" || die "gdb py-bt printed no Python frame: $(tail -3 "$out.err")"
    median <"$out.ms"
}

# start PROG: runs a test program until its ready file is there and its watcher is gone.
start() {
    local prog=$1
    rm -f "$work/ready.json"
    (cd "$work" && ulimit -c unlimited && exec env PYTHONDONTWRITEBYTECODE=1 "$python" "$OLDPWD/testprogs/$prog" \
        --ready "$work/ready.json") >"$work/prog.out" 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        [[ -s $work/ready.json ]] && break
        kill -0 "$pid" 2>/dev/null || [[ -s $work/ready.json ]] || die "$prog exited before it was ready: $(tail -5 "$work/prog.out")"
        sleep 0.1
    done
    [[ -s $work/ready.json ]] || die "$prog not ready after 60 s"
    [[ $(json "$work/ready.json" "d.get('error', '')") == "" ]] || die "$prog: $(json "$work/ready.json" "d['error']")"
    local watcher
    watcher=$(json "$work/ready.json" "d['watcher_native_id'] or ''")
    while [[ -n $watcher && -d /proc/$pid/task/$watcher ]]; do sleep 0.05; done
    sleep 0.3 # every thread settles in its wait
}

stop() {
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
}

rows=()
for ex in job-queue:talk_job_queue.py http-pool:talk_http_pool.py readers-writers:talk_readers_writers.py ctypes-crash:talk_ctypes_crash.py; do
    name=${ex%%:*}
    prog=${ex#*:}
    echo "== $name ($prog)" >&2
    # bash reports a background job's fatal signal on stderr: the crash is the point.
    start "$prog" 2>/dev/null
    exe=$(json "$work/ready.json" "d['executable']")
    if [[ $name == ctypes-crash ]]; then
        wait "$pid" 2>/dev/null || true
        core=$(ls -t "$work"/core* 2>/dev/null | head -1)
        [[ -n $core ]] || die "the crash left no core in $work (core_pattern $pattern)"
        pid=
        live="-"; gdblive="-"; rlive="-"
    else
        live=$(time_pyhang "$work/live" "$pid")
        gdblive=$(time_gdb "$work/gdblive" -p "$pid")
        rlive=$(ratio "$gdblive" "$live")
        gcore -o "$work/core" "$pid" >"$work/gcore.out" 2>&1 || die "gcore failed: $(tail -3 "$work/gcore.out")"
        core=$work/core.$pid
        stop
    fi
    corems=$(time_pyhang "$work/core" "$core")
    gdbcore=$(time_gdb "$work/gdbcore" "$exe" "$core")
    rcore=$(ratio "$gdbcore" "$corems")
    findings=$(json "$work/core.json" "','.join(f['kind'] for f in d['findings']) or '-'")
    rows+=("$(printf '%-16s %10s %10s %7s %10s %10s %7s   %s' "$name" "$live" "$gdblive" "$rlive" "$corems" "$gdbcore" "$rcore" "$findings")")
    rm -f "$work"/core*
done

echo
echo "Python $VERSION; medians of $RUNS pyhang and $GDB_RUNS gdb runs, in ms; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-16s %10s %10s %7s %10s %10s %7s   %s\n' "example" "pyhang" "gdb" "ratio" "pyhang" "gdb" "ratio" "findings (core)"
printf '%-16s %10s %10s %7s %10s %10s %7s\n' "" "live" "live" "" "core" "core" ""
printf '%s\n' "${rows[@]}"
