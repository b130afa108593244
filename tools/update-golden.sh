#!/bin/sh
# update-golden.sh BUILD_DIR: regenerates tests/data/golden/<photo>.json, the
# stored `--format json` output of every photo in samples/ that
# tests/test_golden.c compares against.
#
# Run it from the source tree after a change that is meant to alter the
# output (a palette value, the model, a new key). It builds the command and
# the test in BUILD_DIR, removes the old golden files (so that a deleted
# sample leaves none behind), and lets test_golden write new ones with the
# same options it tests with (tests/data/golden/<photo>.args, kept). Then
# review the diff: every changed number should be one you meant to change.
set -eu

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: tools/update-golden.sh BUILD_DIR   (run from the source tree)" >&2
    exit 2
fi
build=$1
if [ ! -f tests/test_golden.c ] || [ ! -d samples ]; then
    echo "update-golden.sh: run it from the source tree (the folder with samples/ and tests/)" >&2
    exit 2
fi
src=$(pwd -P)
configured=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
if [ -n "$configured" ] && [ "$(cd "$configured" && pwd -P)" != "$src" ]; then
    echo "update-golden.sh: $build was configured from $configured, not from $src" >&2
    exit 2
fi

cmake --build "$build" --target smpmatch-cli test_golden -j2
rm -f tests/data/golden/*.json
SMP_GOLDEN_WRITE="$src/tests/data/golden" "$build/tests/test_golden"

echo
echo "Golden files regenerated in tests/data/golden/. Review them before committing:"
echo "    git status tests/data/golden; git diff tests/data/golden"
echo "Every changed figure should be one the change meant to move."
