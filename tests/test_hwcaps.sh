#!/bin/sh
# tests/test_hwcaps.sh: the library built for x86-64-v3 (CMakeLists.txt,
# SMP_HWCAPS) gives what the plain one gives.
#
# In:  $1 the smpmatch command, $2 the source tree (its samples/ are the
#      photos), $3 the build folder (libsmpmatch.so.0 and, beside it,
#      glibc-hwcaps/x86-64-v3/libsmpmatch.so.0).
# Out: exit 0 when, on every sample alone and in one -j 2 batch, the
#      command prints byte-identical JSON with either library, and each run
#      used the library it was meant to (glibc's LD_DEBUG=libs says which
#      it started); 1 with a message otherwise; 77 (ctest's
#      SKIP_RETURN_CODE) when this build has no x86-64-v3 library or this
#      CPU lacks what x86-64-v3 needs (then glibc loads the plain one, and
#      the other tests test that).
# Not: a speed test (bench/speed).
#
# The plain library is forced by a folder that holds only it, first on
# LD_LIBRARY_PATH: glibc looks in a folder's glibc-hwcaps/ and then in the
# folder, folder by folder, so it never reaches the build folder's.
set -u

cli=${1:-}
src=${2:-}
build=${3:-}
if [ -z "$cli" ] || [ -z "$src" ] || [ -z "$build" ]; then
    echo "usage: tests/test_hwcaps.sh SMPMATCH SOURCE_DIR BUILD_DIR" >&2
    exit 2
fi
v3=$build/glibc-hwcaps/x86-64-v3/libsmpmatch.so.0
if [ ! -e "$v3" ]; then
    echo "SKIP: this build has no x86-64-v3 library (SMP_HWCAPS is off)"
    exit 77
fi
# x86-64-v3 as glibc tells it (sysdeps/x86/get-isa-level.h): AVX, AVX2,
# BMI1, BMI2, F16C, FMA, LZCNT (cpuinfo: abm), MOVBE and XSAVE.
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
for f in avx avx2 bmi1 bmi2 f16c fma abm movbe xsave; do
    case " $flags " in
    *" $f "*) ;;
    *)
        echo "SKIP: this CPU lacks $f, which the x86-64-v3 library needs"
        exit 77
        ;;
    esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smp-hwcaps.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/plain"
ln -s "$build/libsmpmatch.so.0" "$tmp/plain/libsmpmatch.so.0"

fail() {
    echo "FAIL: $*"
    exit 1
}

# run NAME [VAR=VALUE...] COMMAND ARGS...: the command's JSON into $tmp/NAME.json, which
# library glibc started into $tmp/NAME.lib.
run() {
    name=$1
    shift
    env LD_DEBUG=libs LD_DEBUG_OUTPUT="$tmp/$name.ld" "$@" >"$tmp/$name.json" 2>"$tmp/$name.err"
    rc=$?
    # exit 0: every photo measured (the samples are all good photos)
    [ "$rc" -eq 0 ] || fail "$name: exit status $rc: $(head -c 500 "$tmp/$name.err")"
    cat "$tmp/$name.ld".* 2>/dev/null | grep 'calling init: .*libsmpmatch\.so' | sed 's/.*calling init: //' >"$tmp/$name.lib"
    rm -f "$tmp/$name.ld".*
}

# expect NAME PATH: glibc started exactly that library file.
expect() {
    got=$(cat "$tmp/$1.lib")
    [ "$got" = "$2" ] || fail "$1: expected $2 to be loaded, glibc loaded: ${got:-nothing}"
}

photos=$(ls "$src"/samples/*.jpg "$src"/samples/*.png)
[ -n "$photos" ] || fail "no samples in $src/samples"
# shellcheck disable=SC2086 # the sample names have no spaces
run v3-batch "$cli" -q --format json -j 2 $photos
expect v3-batch "$v3"
# shellcheck disable=SC2086
run plain-batch LD_LIBRARY_PATH="$tmp/plain" "$cli" -q --format json -j 2 $photos
expect plain-batch "$tmp/plain/libsmpmatch.so.0"
cmp -s "$tmp/v3-batch.json" "$tmp/plain-batch.json" || fail "a -j 2 batch of the samples: the two libraries differ:
$(diff "$tmp/plain-batch.json" "$tmp/v3-batch.json" | head -c 2000)"
[ "$(wc -l <"$tmp/v3-batch.json")" -eq "$(echo "$photos" | wc -l)" ] || fail "not one record a sample"

# Alone, each photo has two threads and a JPEG's rows are converted as they
# are decoded: another order of work.
for p in $photos; do
    b=$(basename "$p")
    run "v3-$b" "$cli" -q --format json "$p"
    expect "v3-$b" "$v3"
    run "plain-$b" LD_LIBRARY_PATH="$tmp/plain" "$cli" -q --format json "$p"
    expect "plain-$b" "$tmp/plain/libsmpmatch.so.0"
    cmp -s "$tmp/v3-$b.json" "$tmp/plain-$b.json" || fail "$b alone: the two libraries differ:
$(diff "$tmp/plain-$b.json" "$tmp/v3-$b.json" | head -c 2000)"
done
echo "OK: $(echo "$photos" | wc -l) samples, alone and in a batch: the x86-64-v3 and the plain library agree byte for byte"
