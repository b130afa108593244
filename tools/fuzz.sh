#!/usr/bin/env bash
# tools/fuzz.sh: build and run the libFuzzer targets of tests/fuzz/.
#
#   tools/fuzz.sh TARGET SECONDS [JOBS]
#       TARGET   image | icc | palette_csv | palette_cgats | options | pipeline | all
#       SECONDS  how long to fuzz each target (wall clock, per job)
#       JOBS     parallel fuzzing processes (default 1)
#
# Builds with clang, -DSMP_FUZZ=ON, in build-fuzz/ (SMP_FUZZ_BUILD to move it)
# when needed, then runs smp-fuzz-TARGET with -rss_limit_mb=2048 -timeout=10
# over a working corpus in build-fuzz/fuzz-work/TARGET/corpus/ (new inputs
# go there; the seeds in tests/fuzz/corpus/TARGET/ and the regressions in
# tests/fuzz/regressions/TARGET/ are read, never written). At the end it
# prints the target, wall seconds, CPU seconds, executions and the result;
# a crash, leak, out-of-memory or timeout exits 1 and leaves the input in
# build-fuzz/fuzz-work/TARGET/artifacts/ (crash-*, leak-*, oom-*, timeout-*).
# Reproduce one with the replay build or the fuzzer itself:
#   build-fuzz/tests/fuzz/smp-fuzz-TARGET build-fuzz/fuzz-work/TARGET/artifacts/crash-...
# and shrink it with -minimize_crash=1 -runs=20000 before putting it in
# tests/fuzz/regressions/TARGET/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
targets=(image icc palette_csv palette_cgats options pipeline)

usage() {
    echo "usage: tools/fuzz.sh image|icc|palette_csv|palette_cgats|options|pipeline|all SECONDS [JOBS]" >&2
    exit 2
}
[ $# -ge 2 ] || usage
what=$1
secs=$2
jobs=${3:-1}
[[ "$secs" =~ ^[0-9]+$ && "$secs" -gt 0 ]] || usage
[[ "$jobs" =~ ^[0-9]+$ && "$jobs" -gt 0 ]] || usage
if [ "$what" = all ]; then
    run=("${targets[@]}")
else
    run=()
    for t in "${targets[@]}"; do [ "$t" = "$what" ] && run=("$t"); done
    [ ${#run[@]} -eq 1 ] || usage
fi

build=${SMP_FUZZ_BUILD:-$root/build-fuzz}
command -v clang >/dev/null || {
    echo "fuzz: clang is not installed (tools/setup.sh test installs it)" >&2
    exit 2
}
if [ ! -f "$build/CMakeCache.txt" ]; then
    # Static library: the fuzzer and the instrumented library in one binary.
    mkdir -p "$build"
    CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMP_FUZZ=ON \
        -DSMP_BUILD_TESTS=OFF -DBUILD_SHARED_LIBS=OFF >"$build/configure.log" 2>&1 || {
        cat "$build/configure.log" >&2
        exit 1
    }
fi
for t in "${run[@]}"; do
    cmake --build "$build" --target "smp-fuzz-$t" -j 2 >/dev/null || {
        cmake --build "$build" --target "smp-fuzz-$t" -j 1 >&2
        exit 1
    }
done

# Runs one target; prints its summary; returns 1 when it found something.
fuzz_one() {
    local t=$1 work="$build/fuzz-work/$1"
    mkdir -p "$work/corpus" "$work/artifacts" "$work/logs"
    local args=(-max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
        -artifact_prefix="$work/artifacts/")
    # SMP_FUZZ_SEED: a fixed seed (tools/checks.sh uses 1, so that CI
    # mutates the same way every time); unset, libFuzzer picks one.
    if [ -n "${SMP_FUZZ_SEED:-}" ]; then
        args+=(-seed="$SMP_FUZZ_SEED")
    fi
    if [ "$jobs" -gt 1 ]; then
        args+=(-jobs="$jobs" -workers="$jobs")
    fi
    rm -f "$work"/logs/*.log
    touch "$work/logs/start"
    local start end rc=0
    start=$(date +%s.%N)
    # bash's time: user and system CPU of the fuzzer and all its jobs.
    # -jobs writes fuzz-N.log into the current folder: the logs folder.
    local TIMEFORMAT='%U %S'
    { time (cd "$work/logs" && nice "$build/tests/fuzz/smp-fuzz-$t" "${args[@]}" "$work/corpus" \
        "$root/tests/fuzz/corpus/$t" "$root/tests/fuzz/regressions/$t" >"$work/logs/run.log" 2>&1); } \
        2>"$work/logs/time" || rc=$?
    end=$(date +%s.%N)
    local execs cpu wall found
    execs=$(cat "$work"/logs/*.log | sed -n 's/^stat::number_of_executed_units: *//p' |
        awk '{s += $1} END {print s + 0}')
    cpu=$(awk '{printf "%.1f", $1 + $2}' "$work/logs/time")
    wall=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')
    found=$(find "$work/artifacts" -type f -newer "$work/logs/start" ! -name 'slow-unit-*')
    echo "target:      $t"
    echo "wall:        $wall s"
    echo "cpu:         $cpu s"
    echo "executions:  $execs ($(awk -v e="$execs" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? e / c : 0)}') per CPU second)"
    echo "corpus:      $(find "$work/corpus" -type f | wc -l) inputs in $work/corpus"
    if [ -n "$found" ] || [ "$rc" -ne 0 ]; then
        echo "result:      FOUND a crash, leak, out-of-memory or timeout (fuzzer exit $rc)"
        echo "$found" | sed '/^$/d; s/^/  input:     /'
        grep -h -m1 -E "^==[0-9]+==ERROR|^SUMMARY|check failed|ALARM|out-of-memory" "$work"/logs/*.log |
            sed 's/^/  /' || true
        echo "  log:       $work/logs/"
        return 1
    fi
    echo "result:      no crash, leak, out-of-memory or timeout"
    return 0
}

status=0
for t in "${run[@]}"; do
    fuzz_one "$t" || status=1
    echo
done
exit $status
