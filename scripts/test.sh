#!/usr/bin/env bash
# Runs every test verbosely into a log and prints a summary: each package's result,
# every skipped test with the reason it gives, and every failure in full.
# PYHANG_REQUIRE_ALL=1 (set by `make test`) turns a missing interpreter into a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
mkdir -p .cache
log=.cache/test-output.txt
"$GO" test -count=1 -v -timeout "${TIMEOUT:-40m}" ./... >"$log" 2>&1
rc=$?
# pyhang reads cores on other systems too, where a live process is refused
# (snapshot/live/unsupported.go): it must keep building there.
for target in darwin/arm64 linux/arm64; do
	if ! out=$(GOOS=${target%/*} GOARCH=${target#*/} "$GO" build ./... 2>&1); then
		echo "== pyhang does not build for $target:"
		echo "$out" | head -20
		rc=1
	fi
done
echo "== skipped: $(grep -c -- '--- SKIP' "$log") tests (full log: $log); the reasons they gave:"
grep -E -- '--- SKIP' "$log" | sed -E 's/^ *--- SKIP: ([^/ ]+)\/([^/ ]+).*/  \1 \2/' | sort | uniq -c | head -40
grep -E '^ +[a-z_]+_test\.go:[0-9]+: .*(SKIP|[Ss]kip)' "$log" | sed -E 's/^ +//; s/[0-9]+/N/g' | sort | uniq -c | head -20
if [ $rc -ne 0 ]; then
	echo "== failures"
	grep -E -A15 '^# ' "$log" | head -100 # build errors
	awk -f scripts/failed-logs.awk "$log" "$log" | head -300
	grep -E -A30 -- '^panic:' "$log" | head -100
	grep -E -- '--- FAIL' "$log" | head -50
fi
echo "== packages"
grep -E '^(ok|FAIL|\?)\s' "$log"
exit $rc
