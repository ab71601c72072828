#!/usr/bin/env bash
# Runs each Fuzz target in the module for $FUZZTIME (default 20s); `go test -fuzz` takes one
# package and one target at a time, so list them first. PKGS narrows the packages.
# Minimizing a new input is bounded to $FUZZMINIMIZE (default 100x: runs, not seconds):
# with go test's default of 60 s per input, FuzzOpen and FuzzAsyncio, whose seeds are
# kilobytes, spent a whole 40 s run minimizing (9 and 31 inputs run).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-20s}
FUZZMINIMIZE=${FUZZMINIMIZE:-100x}
PKGS=${PKGS:-./...}

targets=$("$GO" test -list '^Fuzz' $PKGS | awk '
    /^Fuzz/ { names = names " " $1; next }
    /^ok / { if (names != "") print $2 names; names = "" }')
if [[ -z $targets ]]; then
    echo "fuzz: no Fuzz targets found"
    exit 0
fi
while read -r pkg names; do
    for name in $names; do
        echo "fuzz: $pkg $name for $FUZZTIME"
        "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZE" "$pkg"
    done
done <<<"$targets"
