#!/usr/bin/env bash
# Installs what pyhang's end-to-end tests need, and nothing else:
#   - gdb, for gcore and for the native stacks the tests compare with (system package);
#   - strace, with which the tests prove pyhang opens nothing under $TMPDIR (system package);
#   - Debian unstable's python3.13 and python3.14 (static, stripped builds), fetched with a
#     private apt configuration into .cache/debian-unstable/ inside the repository, so the
#     system's apt state is never touched, and run through their own (newer) dynamic loader by
#     wrapper scripts in .cache/debian-unstable/bin/. They come from the Debian mirror that the
#     machine's apt sources name; with none configured the script says so and stops.
#     Debian ships no free-threaded build (3.13t, 3.14t) to fetch this way;
#   - the separate debug files of those builds and of their C library (python3.X-dbg and
#     libc6-dbg of the same versions; only their .build-id trees are kept, in
#     .cache/debian-unstable/root/usr/lib/debug): gdb's symbols for comparing native stacks,
#     and the DWARF that checks the 3.13/3.14 layout tables.
# Idempotent: when the wrappers already work and the debug files are there it only checks them
# (well under a second). To refetch from scratch, delete .cache/debian-unstable.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
base=${PYHANG_UNSTABLE_DIR:-$repo/.cache/debian-unstable}
versions=(3.13 3.14)

log() { printf 'install-test-deps: %s\n' "$*"; }
die() { printf 'install-test-deps: ERROR: %s\n' "$*" >&2; exit 1; }

# The program a wrapper must pass: threads, queues, futures, json, sockets and ctypes are
# what testprogs/ use, so a build that cannot import them is of no use to the tests.
check_program='
import os, sys, threading, queue, concurrent.futures, json, socket, ctypes
assert ctypes.CDLL(None).getpid() == os.getpid()
out = []
t = threading.Thread(target=lambda: out.append(sum(range(10))))
t.start(); t.join()
assert out == [45], out
print(sys.version.split()[0], "|", sys.version.replace("\n", " "))
'

system_apt_updated=
system_apt_update() {
    if [[ -z $system_apt_updated ]]; then
        log "apt-get update (system)"
        apt-get update -qq
        system_apt_updated=1
    fi
}

ensure_gdb() {
    if command -v gcore >/dev/null 2>&1 && command -v gdb >/dev/null 2>&1; then
        log "gdb: present ($(command -v gcore))"
        return
    fi
    log "gdb: missing, installing with apt-get"
    system_apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gdb >/dev/null
    command -v gcore >/dev/null 2>&1 || die "gdb installed but gcore is not on PATH"
    log "gdb: installed ($(command -v gcore))"
}

ensure_strace() {
    if command -v strace >/dev/null 2>&1; then
        log "strace: present ($(command -v strace))"
        return
    fi
    log "strace: missing, installing with apt-get"
    system_apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends strace >/dev/null
    command -v strace >/dev/null 2>&1 || die "strace installed but not on PATH"
    log "strace: installed ($(command -v strace))"
}

# wrappers_ok prints each wrapper's version and fails if any wrapper is missing or broken.
wrappers_ok() {
    local v out
    for v in "${versions[@]}"; do
        [[ -x $base/bin/python$v ]] || return 1
        out=$("$base/bin/python$v" -c "$check_program" 2>&1) || return 1
        log "python$v: ok: $base/bin/python$v -> $out"
    done
}

# debian_mirror prints the Debian archive URI the machine's own apt sources use, so the
# private configuration talks to the same mirror (no other network may be reachable). apt says
# where its sources are (Dir::Etc::sourcelist and sourceparts, so APT_CONFIG is honoured). With
# no Debian mirror there it stops: it never falls back to a host of its own choosing.
debian_mirror() {
    local list= parts= f uri
    eval "$(apt-config shell list Dir::Etc::sourcelist/f parts Dir::Etc::sourceparts/d)"
    parts=${parts%/}
    for f in "$parts"/*.sources; do
        [[ -f $f ]] || continue
        # deb822 stanzas: the URIs of those whose Types has "deb" and that are not disabled.
        while read -r uri; do
            case $uri in
            */debian-security* | *debian-ports*) ;;
            */debian | */debian/) echo "${uri%/}"; return ;;
            esac
        done < <(awk 'BEGIN { RS = "" }
            {
                types = ""; uris = ""; enabled = "yes"
                n = split($0, lines, "\n")
                for (i = 1; i <= n; i++) {
                    if (lines[i] ~ /^[ \t]*#/ || index(lines[i], ":") == 0) continue
                    key = tolower(substr(lines[i], 1, index(lines[i], ":") - 1))
                    val = substr(lines[i], index(lines[i], ":") + 1)
                    if (key == "types") types = val
                    else if (key == "uris") uris = val
                    else if (key == "enabled") enabled = tolower(val)
                }
                if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled !~ /no/) {
                    m = split(uris, u, /[ \t]+/)
                    for (j = 1; j <= m; j++) if (u[j] != "") print u[j]
                }
            }' "$f")
    done
    for f in "$list" "$parts"/*.list; do
        [[ -f $f ]] || continue
        # "deb [opts] URI suite components": the URI is the first field that has "://".
        uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' "$f" |
            grep -E '/debian/?$' | head -n1 || true)
        if [[ -n $uri ]]; then echo "${uri%/}"; return; fi
    done
    die "no Debian mirror is configured for apt (none in $list or $parts/*.sources|*.list): add the machine's Debian archive to its apt sources, then run this again"
}

# Private apt: its own sources, state, cache and log directories under $base/apt; nothing under
# /etc/apt or /var/lib/apt is read for sources or written.
setup_private_apt() {
    local apt=$base/apt mirror keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [[ -f $keyring ]] || die "$keyring missing (apt-get install debian-archive-keyring)"
    mirror=$(debian_mirror)
    mkdir -p "$apt"/etc/{apt.conf.d,preferences.d,sources.list.d,trusted.gpg.d} \
        "$apt"/state/lists/partial "$apt"/cache/archives/partial "$apt"/log
    touch "$apt/state/status"
    echo "deb [signed-by=$keyring] $mirror unstable main" >"$apt/etc/sources.list"
    cat >"$apt/apt.conf" <<EOF
Dir::Etc "$apt/etc/";
Dir::State "$apt/state/";
Dir::State::status "$apt/state/status";
Dir::Cache "$apt/cache/";
Dir::Log "$apt/log/";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
// The folder lives in the repository, which the _apt user may not be able to write.
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
// The registry may serve a frozen snapshot whose Release file has expired.
Acquire::Check-Valid-Until "false";
Acquire::Check-Date "false";
EOF
    [[ -n ${APT_CONFIG+set} ]] && saved_apt_config=$APT_CONFIG
    export APT_CONFIG=$apt/apt.conf
    log "private apt: $mirror unstable main (config $APT_CONFIG)"
    apt-get update -qq || die "apt-get update of the private unstable sources failed"
}

# unset_private_apt gives apt back the configuration it had before setup_private_apt.
unset_private_apt() {
    if [[ -n ${saved_apt_config+set} ]]; then
        export APT_CONFIG=$saved_apt_config
    else
        unset APT_CONFIG
    fi
}

# lib_depends prints the library packages (lib*, zlib1g) that the given packages depend on,
# recursively: those hold the shared objects the binaries and extension modules load.
lib_depends() {
    local -A seen=()
    local queue=("$@") p d n=0
    while ((${#queue[@]} > 0)) && ((n < 500)); do
        p=${queue[0]}
        queue=("${queue[@]:1}")
        n=$((n + 1))
        while read -r d; do
            [[ -n ${seen[$d]:-} ]] && continue
            seen[$d]=1
            echo "$d"
            queue+=("$d")
        done < <(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
            --no-replaces --no-enhances "$p" |
            awk '$1 ~ /^\|?(Pre)?Depends:$/ && $2 !~ /^</ { print $2 }' |
            grep -E '^(lib|zlib1g$)' | grep -vE '^libpython3\.[0-9]+-' || true)
    done
}

fetch_unstable() {
    local root=$base/root debs=$base/debs pkgs=() libs v d
    for v in "${versions[@]}"; do
        pkgs+=("python$v-minimal" "libpython$v-minimal" "libpython$v-stdlib")
    done
    mapfile -t libs < <(lib_depends "${pkgs[@]}" | sort -u)
    pkgs+=(libc6 "${libs[@]}")
    mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
    log "downloading ${#pkgs[@]} packages: ${pkgs[*]}"
    rm -rf "$debs" "$root"
    mkdir -p "$debs" "$root"
    (cd "$debs" && apt-get download -qq "${pkgs[@]}") || die "apt-get download failed"
    for d in "$debs"/*.deb; do
        dpkg -x "$d" "$root"
    done
    for d in "$debs"/*.deb; do
        dpkg-deb -W --showformat='${Package} ${Version}\n' "$d"
    done >"$base/packages.txt"
    log "extracted $(ls "$debs" | wc -l) packages into $root (list in $base/packages.txt)"
}

loader_path() {
    local l
    for l in usr/lib64/ld-linux-x86-64.so.2 lib64/ld-linux-x86-64.so.2 usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2; do
        if [[ -e $base/root/$l ]]; then echo "$l"; return; fi
    done
    die "no ld-linux-x86-64.so.2 in $base/root (was libc6 extracted?)"
}

# check_needed reports every DT_NEEDED of the interpreters and their extension modules that
# the extracted tree does not provide (those would silently come from the host instead).
check_needed() {
    local root=$base/root f so missing=0
    for f in "$root"/usr/bin/python3.1[0-9] "$root"/usr/lib/python3.1[0-9]/lib-dynload/*.so; do
        [[ -f $f ]] || continue
        for so in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            if [[ ! -e $root/usr/lib/x86_64-linux-gnu/$so && ! -e $root/lib/x86_64-linux-gnu/$so ]]; then
                log "warning: ${f#"$root"/} needs $so, not in the unstable tree"
                missing=1
            fi
        done
    done
    ((missing == 0)) && log "readelf: every DT_NEEDED of the interpreters and lib-dynload modules is provided"
    return 0
}

write_wrappers() {
    local loader v w
    loader=$(loader_path)
    mkdir -p "$base/bin"
    for v in "${versions[@]}"; do
        [[ -x $base/root/usr/bin/python$v ]] || die "python$v missing from $base/root/usr/bin"
        w=$base/bin/python$v
        cat >"$w" <<EOF
#!/bin/sh
# Written by scripts/install-test-deps.sh. Runs Debian unstable's python$v through the unstable
# dynamic loader with the unstable libraries, since the host's glibc is older than the one the
# binary was linked against. --argv0 makes sys.executable this wrapper, so subprocesses of
# sys.executable work too.
root=\$(CDPATH= cd -- "\$(dirname -- "\$0")/../root" && pwd)
PYTHONHOME=\$root/usr
export PYTHONHOME
exec "\$root/$loader" --library-path "\$root/usr/lib/x86_64-linux-gnu:\$root/lib/x86_64-linux-gnu" \\
    --argv0 "\$0" "\$root/usr/bin/python$v" "\$@"
EOF
        chmod +x "$w"
    done
}

ensure_unstable() {
    if wrappers_ok 2>/dev/null; then
        return
    fi
    log "Debian unstable python ${versions[*]}: not (fully) installed, fetching into $base"
    setup_private_apt
    fetch_unstable
    check_needed
    write_wrappers
    wrappers_ok || die "a wrapper in $base/bin does not run; see the output above"
    # The .debs and apt's indexes (over 100 MB) are not needed to run the interpreters.
    rm -rf "$base/debs" "$base/apt"
    # The machine's own apt again, for the debug files' turn (its config file is gone).
    unset_private_apt
    du -sh "$base" | awk '{ print "install-test-deps: " $2 " uses " $1 }'
}

# version_of PACKAGE prints the version of PACKAGE extracted into the unstable tree.
version_of() {
    awk -v p="$1" '$1 == p { print $2 }' "$base/packages.txt"
}

# debug_file ELF prints the path its build-id debug file has under the unstable tree.
debug_file() {
    local id
    id=$(readelf -n "$1" 2>/dev/null | awk '/Build ID:/ { print $3; exit }')
    [[ -n $id ]] || return 1
    echo "$base/root/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug"
}

# debug_ok checks that the interpreters and the C library of the unstable tree have their
# debug files.
debug_ok() {
    local v f d
    for f in "${versions[@]/#/$base/root/usr/bin/python}" "$base/root/usr/lib/x86_64-linux-gnu/libc.so.6"; do
        d=$(debug_file "$f") || return 1
        [[ -s $d ]] || return 1
    done
    log "debug files: ok ($(find "$base/root/usr/lib/debug/.build-id" -name '*.debug' | wc -l) in $base/root/usr/lib/debug)"
}

ensure_unstable_debug() {
    if debug_ok 2>/dev/null; then
        return
    fi
    local pkgs=() v ver tmp d
    for v in "${versions[@]}"; do
        ver=$(version_of "python$v-minimal")
        [[ -n $ver ]] || die "no python$v-minimal in $base/packages.txt; delete $base and run again"
        pkgs+=("python$v-dbg=$ver")
    done
    ver=$(version_of libc6)
    [[ -n $ver ]] || die "no libc6 in $base/packages.txt; delete $base and run again"
    pkgs+=("libc6-dbg=$ver")
    log "debug files: fetching ${pkgs[*]}"
    setup_private_apt
    tmp=$(mktemp -d "$base/dbg.XXXXXX")
    (cd "$tmp" && apt-get download -qq "${pkgs[@]}") ||
        die "apt-get download ${pkgs[*]} failed (unstable moved on? delete $base and run again to refetch all)"
    mkdir -p "$tmp/x" "$base/root/usr/lib/debug/.build-id"
    for d in "$tmp"/*.deb; do
        dpkg -x "$d" "$tmp/x"
        dpkg-deb -W --showformat='${Package} ${Version}\n' "$d" >>"$base/packages.txt"
    done
    # Only the build-id tree: the -dbg packages also hold a debug interpreter, not needed here.
    cp -a "$tmp/x/usr/lib/debug/.build-id/." "$base/root/usr/lib/debug/.build-id/"
    rm -rf "$tmp" "$base/apt"
    unset_private_apt
    debug_ok || die "the debug files fetched do not match the interpreters' build-ids"
}

start=$SECONDS
ensure_gdb
ensure_strace
ensure_unstable
ensure_unstable_debug
log "done in $((SECONDS - start))s"
