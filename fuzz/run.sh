#!/bin/sh
# Run the libFuzzer targets built with -Dfuzz=true (make fuzz does the setup):
#   fuzz/run.sh BUILD_DIR TARGET|all SECONDS
# Each target NAME grows a working corpus in fuzz/corpus-work/NAME (not checked in) from the
# seeds in fuzz/corpus/NAME; a crashing input lands in fuzz/crashes/NAME/, where the normal
# test run replays it (suite 'fuzz-replay'): check it in with its fix.
set -eu

build=${1:?usage: fuzz/run.sh BUILD_DIR TARGET|all SECONDS}
target=${2:-all}
secs=${3:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac

if [ "$target" = all ]; then
    targets=$(ls "$build/fuzz" | sed -n 's/^fuzz_\([a-z0-9_]*\)$/\1/p')
else
    targets=$target
fi
[ -n "$targets" ] || { echo "fuzz: no fuzz targets in $build/fuzz (configure with -Dfuzz=true)"; exit 1; }

status=0
for t in $targets; do
    bin="$build/fuzz/fuzz_$t"
    [ -x "$bin" ] || { echo "fuzz: $bin is missing (configure with -Dfuzz=true)"; exit 1; }
    work="$root/fuzz/corpus-work/$t"
    crashes="$root/fuzz/crashes/$t"
    mkdir -p "$work" "$crashes" "$root/fuzz/corpus/$t"
    echo "fuzz: $t for ${secs}s"
    # timeout: a hung target must not hang make fuzz; libFuzzer's own -timeout catches
    # a single slow input.
    if ! ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
         UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
         timeout --kill-after=30 $((secs + 120)) "$bin" \
            -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
            -artifact_prefix="$crashes/" -print_final_stats=1 \
            "$work" "$root/fuzz/corpus/$t"; then
        echo "fuzz: $t FAILED; inputs kept in $crashes:"
        ls -l "$crashes"
        status=1
    fi
done
exit $status
