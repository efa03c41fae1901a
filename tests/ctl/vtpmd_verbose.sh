#!/bin/sh
# TESTS ONLY: the real vtpmd as vtpmctl starts it, with its log at level 3 (every TPM command
# code), so that a test can see which commands the guest's firmware sent.
build=${VTPMD_BUILD:?set VTPMD_BUILD to the build directory}
n=$#
prev=""
for a in "$@"; do
    if [ "$prev" = "--log" ]; then
        a="$a,level=3"
    fi
    set -- "$@" "$a"
    prev=$a
done
shift "$n"
exec "$build/src/daemon/vtpmd" "$@"
