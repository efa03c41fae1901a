#!/bin/sh
# make fuzz: run one libFuzzer target (or all) for a time, on its corpus.
#   fuzz/run.sh BUILD TARGET|all SECONDS
# New interesting inputs go to fuzz/corpus-work/<target> (not committed); crashes are written
# to fuzz/crashes/<target>/ so that `make check` replays them from then on.
set -eu
build=$1
target=$2
secs=$3
here=$(cd "$(dirname "$0")" && pwd)
if [ "$target" = all ]; then
    set -- $(ls "$build"/fuzz/ | sed -n 's/^fuzz_\(.*\)$/\1/p' | grep -v '\.p$')
else
    set -- "$target"
fi
for t in "$@"; do
    bin="$build/fuzz/fuzz_$t"
    [ -x "$bin" ] || { echo "fuzz: no target $t in $build"; exit 1; }
    work="$here/corpus-work/$t"
    mkdir -p "$work" "$here/crashes/$t"
    echo "fuzz: $t for ${secs}s"
    "$bin" -max_total_time="$secs" -artifact_prefix="$here/crashes/$t/" -print_final_stats=1 \
        -rss_limit_mb=2048 -max_len=4096 "$work" "$here/corpus/$t"
done
