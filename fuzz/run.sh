#!/bin/sh
# Run libFuzzer targets built with -Dfuzz=true.
#   fuzz/run.sh BUILD TARGET SECONDS     TARGET: a name (store -> BUILD/fuzz/fuzz_store) or all
# Each target starts from its kept corpus fuzz/corpus/TARGET/ and writes what it finds to
# fuzz/corpus-work/TARGET/ (not kept). A crash input lands there as crash-*: fix the bug, then
# copy the input into fuzz/corpus/TARGET/ so that the normal test run replays it.
set -eu
[ $# -eq 3 ] || { echo "usage: fuzz/run.sh BUILD TARGET SECONDS" >&2; exit 2; }
build=$1 target=$2 secs=$3
here=$(cd "$(dirname "$0")" && pwd)

if [ "$target" = all ]; then
    targets=$(cd "$build/fuzz" && ls fuzz_* 2>/dev/null | grep -v '_replay$' | sed 's/^fuzz_//')
else
    targets=$target
fi
[ -n "$targets" ] || { echo "fuzz: no fuzz targets in $build/fuzz (meson setup -Dfuzz=true)" >&2; exit 1; }

status=0
for t in $targets; do
    exe=$build/fuzz/fuzz_$t
    [ -x "$exe" ] || { echo "fuzz: $exe is not built" >&2; exit 1; }
    work=$here/corpus-work/$t
    mkdir -p "$work" "$here/corpus/$t"
    echo "fuzz: $t for ${secs}s"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/" "$work" "$here/corpus/$t" || status=1
done
exit $status
