#!/usr/bin/env bash
# tools/checks.sh: the checks beyond the unit tests that `tools/setup.sh test`
# (and so CI) runs after ctest. Each builds what it needs in its own folder.
#
#   tools/checks.sh tsan       ThreadSanitizer build (build-tsan/); a -j 2
#                              batch of every sample with consult sheets,
#                              areas and debug masks, and each photo alone
#                              (two threads a photo), must report no race
#   tools/checks.sh valgrind   plain Debug build (build-valgrind/); command
#                              line runs under valgrind memcheck: no invalid
#                              access and zero leaks (definite, indirect or
#                              possible); only fontconfig's own caches are
#                              suppressed (tools/valgrind.supp)
#   tools/checks.sh fuzz [S]   every libFuzzer target for S seconds (default
#                              30) over its corpus (tools/fuzz.sh); needs clang
#   tools/checks.sh all [S]    the three in turn
#
# Exit status: 0 when every check passed, 1 when one found a problem (the
# tool's own report is on stderr), 2 for a usage error.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

say() { printf 'checks: %s\n' "$*" >&2; }

build() { # build DIR CMAKE-ARGS...
    local dir=$1
    shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMP_WERROR=ON -DSMP_BUILD_TESTS=OFF "$@" >/dev/null
    cmake --build "$dir" -j "$jobs" >/dev/null
}

# A scratch folder with a batch that mixes every sample with broken photos,
# so the error paths run too: a truncated JPEG, a text file named .jpg and a
# PNG whose header claims 100,000 x 100,000 pixels.
make_batch() {
    local dir=$1
    mkdir -p "$dir/in" "$dir/sheets" "$dir/masks"
    cp samples/*.jpg samples/*.png "$dir/in/"
    head -c 20000 samples/temple_brown_srgb.jpg >"$dir/in/zz_truncated.jpg"
    printf 'not a photo\n' >"$dir/in/zz_text.jpg"
    python3 - "$dir/in/zz_huge.png" <<'EOF'
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
EOF
}

# Runs smpmatch over the batch: exit 1 is expected (three broken photos);
# anything else (a crash, a sanitizer's exit code) is a failure.
run_batch() { # run_batch TOOL-PREFIX... -- SMPMATCH DIR
    local rc=0
    "$@" || rc=$?
    if [ "$rc" -ne 1 ]; then
        say "expected exit status 1 (three broken photos), got $rc"
        return 1
    fi
}

check_tsan() {
    build build-tsan -DSMP_TSAN=ON
    local tmp
    tmp=$(mktemp -d)
    make_batch "$tmp"
    say "tsan: -j 2 batch of $(ls "$tmp/in" | wc -l) photos"
    # exitcode=66: a race is a failure even when smpmatch itself succeeds.
    TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$root/tools/tsan.supp" run_batch build-tsan/smpmatch -q -j 2 --format json \
        --report "$tmp/sheets" --debug-masks "$tmp/masks" --region crown=0,0,300,300 \
        "$tmp"/in/* >"$tmp/out.jsonl" 2>"$tmp/err" || {
        cat "$tmp/err" >&2
        return 1
    }
    local n
    n=$(wc -l <"$tmp/out.jsonl")
    [ "$n" -eq "$(ls "$tmp/in" | wc -l)" ] || {
        say "tsan: $n records for $(ls "$tmp/in" | wc -l) photos"
        return 1
    }
    # A lone photo is analysed with two threads (team.h): each alone too.
    say "tsan: each photo alone (two threads a photo)"
    local photo rc
    for photo in "$tmp"/in/*; do
        rc=0
        TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$root/tools/tsan.supp" build-tsan/smpmatch -q \
            --format json --report "$tmp/sheets/alone.pdf" --region crown=0,0,300,300 "$photo" \
            >/dev/null 2>"$tmp/err" || rc=$?
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
            cat "$tmp/err" >&2
            say "tsan: $(basename "$photo") alone: exit status $rc"
            return 1
        fi
    done
    rm -rf "$tmp"
    say "tsan: clean"
}

check_valgrind() {
    command -v valgrind >/dev/null || {
        say "valgrind is not installed (tools/setup.sh test installs it)"
        return 1
    }
    build build-valgrind
    local tmp vg
    tmp=$(mktemp -d)
    make_batch "$tmp"
    vg=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible
        --errors-for-leak-kinds=definite,indirect,possible --track-fds=no
        --suppressions="$root/tools/valgrind.supp")
    say "valgrind: -j 2 batch with consult sheets, areas and broken photos"
    run_batch "${vg[@]}" build-valgrind/smpmatch -q -j 2 --format json --report "$tmp/sheets" \
        --region crown=0,0,300,300 --region scar=200,200,60,40 \
        "$tmp"/in/temple_grey_on_tan.jpg "$tmp"/in/part_grey_on_dark.png "$tmp"/in/zz_* \
        >"$tmp/out.jsonl" 2>"$tmp/err" || {
        cat "$tmp/err" >&2
        return 1
    }
    say "valgrind: text and CSV, a palette file, debug masks, rectangles, white patch"
    local rc=0
    "${vg[@]}" build-valgrind/smpmatch -p palettes/default.csv --format csv --debug-masks "$tmp/masks" \
        --white-roi 40,40,20,20 --hair-roi 31,492,225,230 --scalp-roi 768,38,205,192 \
        samples/temple_brown_srgb.jpg >"$tmp/out.csv" 2>"$tmp/err" || rc=$?
    "${vg[@]}" build-valgrind/smpmatch --session first --fitzpatrick IV --hair-colour all \
        samples/crown_auburn_srgb_icc.jpg >"$tmp/out.txt" 2>>"$tmp/err" || rc=$?
    # a turned JPEG alone: two threads, its rows converted while it decodes
    "${vg[@]}" build-valgrind/smpmatch -q samples/side_lightbrown_orient6.jpg >/dev/null 2>>"$tmp/err" || rc=$?
    if [ "$rc" -ne 0 ]; then
        cat "$tmp/err" >&2
        return 1
    fi
    rm -rf "$tmp"
    say "valgrind: clean"
}

check_fuzz() {
    local secs=${1:-30}
    command -v clang >/dev/null || {
        say "clang is not installed (tools/setup.sh test installs it)"
        return 1
    }
    # A fixed seed: the same mutations on every CI run of the same code, so
    # that a red run means a change, not luck. The long campaigns of the
    # README use a fresh seed each time.
    SMP_FUZZ_SEED=1 bash tools/fuzz.sh all "$secs"
}

what=${1:-}
case "$what" in
tsan) check_tsan ;;
valgrind) check_valgrind ;;
fuzz) check_fuzz "${2:-30}" ;;
all)
    check_tsan
    check_valgrind
    check_fuzz "${2:-30}"
    ;;
*)
    echo "usage: tools/checks.sh tsan|valgrind|fuzz [SECONDS]|all [SECONDS]" >&2
    exit 2
    ;;
esac
