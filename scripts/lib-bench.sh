# What the benchmark scripts share: the pyenv interpreter and its gdb extension, a work
# directory that is removed (and a target that is killed) on exit, the pyhang binary, and
# small helpers. Source it from the repository root after setting BENCH (the script's
# name, for messages) and VERSION (a pyenv version).
#
# It sets python and gdbpy (the interpreter and the pythonX.Y-gdb.py pyenv installs next
# to it, sourced explicitly since gdb's auto-load declines it under the default
# safe-path), work, pid (the target the script starts; killed on exit when set) and
# pyhang ($PYHANG, or a fresh build in $work).

exec 3>&2 # die() speaks here even where stderr is silenced
die() { echo "$BENCH: $*" >&3; exit 1; }

PYENV_ROOT=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}
prefix=$PYENV_ROOT/versions/$VERSION
minor=$(echo "$VERSION" | cut -d. -f1,2)
python=$prefix/bin/python$minor
gdbpy=$prefix/bin/python$minor-gdb.py
[[ -x $python ]] || die "no pyenv Python $VERSION at $python"
[[ -f $gdbpy ]] || die "no $gdbpy: this pyenv build has no gdb extension, py-bt is unavailable"
command -v gdb >/dev/null || die "gdb not found (scripts/install-test-deps.sh installs it)"
command -v gcore >/dev/null || die "gcore not found (scripts/install-test-deps.sh installs it)"

work=$(mktemp -d "${TMPDIR:-/tmp}/$BENCH.XXXXXX")
pid=
bench_cleanup() {
    if [[ -n $pid ]]; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true # reaped here, so bash reports no "Killed"
    fi
    rm -rf "$work"
}
trap bench_cleanup EXIT

pyhang=${PYHANG:-}
if [[ -z $pyhang ]]; then
    pyhang=$work/pyhang
    CGO_ENABLED=0 go build -o "$pyhang" ./cmd/pyhang # as make build does
fi

# json FILE EXPR: evaluate a Python expression on the JSON document d in FILE.
json() { "$python" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
# median: the median of the numbers on stdin, one a line.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
