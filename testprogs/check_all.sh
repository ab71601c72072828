#!/usr/bin/env bash
# Runs every test program under every installed CPython 3.8+ and checks the ready-file
# protocol: the program writes its ready file (no "error"), the file's native ids are
# exactly the process's threads once the watcher has gone, the program is still hung 2 s
# later (or, for a crash program, died of SIGSEGV or SIGABRT), and no warning was printed (run
# with -W always, so anything deprecated shows up). Prints a program x interpreter table.
#
# Usage: testprogs/check_all.sh [PROGRAM.py ...]
#   PYTHONS="/path/python3.12 ..." picks the interpreters (default: pyenv 3.8+, /usr/bin/python3.N,
#   and Debian unstable's wrappers from scripts/install-test-deps.sh when present)
# Exit status 0 when every cell is ok.
set -u

here=$(cd "$(dirname "$0")" && pwd)
export PYTHONDONTWRITEBYTECODE=1
HANG_CHECK=2      # seconds a hang must last after the ready file
READY_TIMEOUT=45  # seconds to wait for the ready file

if [ -z "${PYTHONS:-}" ]; then
	PYTHONS=""
	root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
	for d in $(ls -d "$root"/versions/3.* 2>/dev/null | sort -V); do
		v=${d##*/}
		minor=${v#3.}
		minor=${minor%%.*}
		case $minor in '' | *[!0-9]*) continue ;; esac
		[ "$minor" -ge 8 ] && [ -x "$d/bin/python3.$minor" ] && PYTHONS="$PYTHONS $d/bin/python3.$minor"
	done
	for exe in /usr/bin/python3.*; do
		[[ ${exe##*/} =~ ^python3\.[0-9]+$ ]] && [ -x "$exe" ] && PYTHONS="$PYTHONS $exe"
	done
	for exe in "${PYHANG_UNSTABLE_DIR:-$here/../.cache/debian-unstable}"/bin/python3.*; do
		[ -x "$exe" ] && PYTHONS="$PYTHONS $exe"
	done
fi

# Cases: "program.py [args]", one per line.
if [ $# -gt 0 ]; then
	cases=$(printf '%s\n' "$@")
else
	cases=$(cd "$here" && ls *.py | grep -v '^_' | grep -vx 'crash_in_process.py' | sort)
	cases=$(printf '%s\nparked.py --threads 200 --depth 100\n' "$cases")
	for how in abort-thread fatal-error faulthandler-segv; do
		cases=$(printf '%s\ncrash_in_process.py --how %s\n' "$cases" "$how")
	done
fi

# validate READY PID ALIVE: checks the ready file with the interpreter under test.
read -r -d '' VALIDATE <<'EOF'
import json, os, sys
path, pid, alive = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
with open(path) as f:
    d = json.load(f)
if "error" in d:
    sys.exit("error: " + d["error"])
if d["pid"] != pid:
    # A program may hand its hang to a process it forked (fork_child.py): that one is the target.
    try:
        with open("/proc/%d/stat" % d["pid"]) as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        ppid = None
    if ppid != pid:
        sys.exit("pid %s != %s" % (d["pid"], pid))
    pid = d["pid"]
threads = d["threads"]
main = [t for t in threads if t["main"]]
if len(main) != 1 or main[0]["native_id"] != pid:
    sys.exit("main thread missing or native_id wrong")
if any(not t["frames"] for t in threads):
    sys.exit("a thread without frames")
if any(t["ident"] == d["watcher_ident"] for t in threads):
    sys.exit("watcher in its own dump")
if alive:
    tasks = set(int(x) for x in os.listdir("/proc/%d/task" % pid))
    ids = set(t["native_id"] for t in threads)
    if tasks != ids:
        sys.exit("threads %s but ready file has %s" % (sorted(tasks), sorted(ids)))
print(len(threads))
EOF

# run_case PYTHON CASE: prints one cell of the table.
run_case() {
	local py=$1 prog=${2%% *} args tmp pid t0 t1 rc want n cell
	args=${2#"$prog"}
	tmp=$(mktemp -d)
	t0=$(date +%s%N)
	# shellcheck disable=SC2086 # args are words
	(ulimit -c 0 && exec "$py" -W always "$here/$prog" $args --ready "$tmp/ready.json" >"$tmp/out" 2>"$tmp/err") &
	pid=$!
	for ((i = 0; i < READY_TIMEOUT * 20; i++)); do
		[ -f "$tmp/ready.json" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	t1=$(date +%s%N)
	local secs
	secs=$(awk "BEGIN{printf \"%.1f\", ($t1-$t0)/1e9}")
	if [[ $prog == *crash* ]]; then
		wait "$pid"
		rc=$?
		want=139 # SIGSEGV
		[[ $args == *abort* || $args == *fatal* ]] && want=134 # SIGABRT
		if [ $rc -ne $want ]; then
			cell="FAIL:rc=$rc"
		elif ! n=$("$py" -c "$VALIDATE" "$tmp/ready.json" "$pid" 0 2>&1); then
			cell="FAIL:${n//$'\n'/ }"
		else
			cell="sig$((rc - 128)) ${secs}s"
		fi
	elif [ ! -f "$tmp/ready.json" ]; then
		cell="FAIL:no-ready"
	else
		sleep "$HANG_CHECK"
		if ! kill -0 "$pid" 2>/dev/null; then
			cell="FAIL:exited"
		elif ! n=$("$py" -c "$VALIDATE" "$tmp/ready.json" "$pid" 1 2>&1); then
			cell="FAIL:${n//$'\n'/ }"
		else
			cell="ok ${secs}s ${n}t"
		fi
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	if grep -q Warning "$tmp/err"; then
		cell="FAIL:warning($(grep -m1 Warning "$tmp/err"))"
	fi
	if [[ $cell == FAIL* ]]; then
		{
			echo "--- $prog$args under $py: $cell"
			tail -n 20 "$tmp/err"
		} >>"$failures"
	fi
	rm -rf "$tmp"
	echo "$cell"
}

failures=$(mktemp)
declare -A result
labels=()
for py in $PYTHONS; do
	label=$("$py" -c 'import platform, sys; print(platform.python_version())')
	[[ $py == /usr/bin/* ]] && label="deb-$label"
	[[ $py == *debian-unstable* ]] && label="unst-$label"
	labels+=("$label")
	while IFS= read -r c; do
		[ -n "$c" ] || continue
		result["$c|$label"]=$(run_case "$py" "$c")
		echo "$label  $c: ${result["$c|$label"]}" >&2
	done <<<"$cases"
done

printf '%-46s' "program"
for l in "${labels[@]}"; do printf ' %-16s' "$l"; done
echo
status=0
while IFS= read -r c; do
	[ -n "$c" ] || continue
	printf '%-46s' "$c"
	for l in "${labels[@]}"; do
		cell=${result["$c|$l"]}
		[[ $cell == FAIL* ]] && status=1
		printf ' %-16s' "$cell"
	done
	echo
done <<<"$cases"
if [ -s "$failures" ]; then
	echo
	cat "$failures"
fi
rm -f "$failures"
exit $status
