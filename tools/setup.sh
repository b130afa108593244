#!/usr/bin/env bash
# tools/setup.sh: set up a fresh Debian 12 machine, build smpmatch, and either
# run it on a sample photo or run the whole test suite.
#
#   tools/setup.sh run    install what is missing, build, analyse a sample
#   tools/setup.sh test   install what is missing, build with -Werror under
#                         AddressSanitizer + UndefinedBehaviorSanitizer, ctest
#
# Works as root or as a user with sudo. Packages come from Debian only.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
case "$mode" in
run | test) ;;
*)
    echo "usage: tools/setup.sh [run|test]" >&2
    exit 2
    ;;
esac

# Build tools and the libraries smpmatch uses (README "Dependencies").
packages=(build-essential cmake pkg-config
    libjpeg62-turbo-dev libpng-dev liblcms2-dev libjansson-dev libcmocka-dev
    libcairo2-dev fonts-dejavu-core
    libheif-dev libtiff-dev libwebp-dev) # HEIC (Debian's libheif1 has x265 + libde265), TIFF, WebP
# The test suite also runs the GNU parallel recipe (tests/test_parallel.sh,
# which skips without it).
if [ "$mode" = test ]; then
    packages+=(parallel poppler-utils) # poppler-utils: pdftoppm, for the consult-sheet tests
    # tools/checks.sh: ThreadSanitizer (gcc's), valgrind memcheck, and the
    # libFuzzer targets (clang; python3 writes a broken test photo). Debian
    # 12's clang (14) only recommends its sanitizer and libFuzzer runtimes,
    # libclang-rt-14-dev, which --no-install-recommends leaves out.
    packages+=(valgrind clang libclang-rt-14-dev python3)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    if [ "$(id -u)" -eq 0 ]; then
        sudo=()
    elif command -v sudo >/dev/null; then
        sudo=(sudo)
    else
        echo "setup: need root or sudo to install: ${missing[*]}" >&2
        exit 1
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc 2>/dev/null || echo 2)
if [ "$mode" = run ]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build -j "$jobs" >/dev/null
    # The brown-hair sample, with its hair and bare-scalp rectangles from
    # samples/truth.csv.
    set -x
    build/smpmatch --hair-roi 31,492,225,230 --scalp-roi 768,38,205,192 samples/temple_brown_srgb.jpg
else
    cmake -S . -B build-check -DCMAKE_BUILD_TYPE=Debug -DSMP_WERROR=ON -DSMP_SANITIZE=ON
    cmake --build build-check -j "$jobs"
    cd build-check
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --output-on-failure -j "$jobs"
    cd ..
    # ThreadSanitizer on a -j 2 batch, valgrind on command-line runs, and
    # each fuzz target for SMP_FUZZ_SECONDS (default 30) over its corpus.
    bash tools/checks.sh all "${SMP_FUZZ_SECONDS:-30}"
fi
