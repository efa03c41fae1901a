#!/bin/sh
# TESTS ONLY: runs Debian's swtpm in vtpmd's place for the real-QEMU test (cli_test.sh
# real_qemu), until vtpmd is merged. It takes vtpmd's command line as vtpmctl builds it; reads
# the key from --key fd=N to its end and checks it is 32 bytes (then drops it: swtpm has no
# AES-GCM key mode, and the state it keeps is a throwaway); drops --vmid; keeps swtpm's state
# in the VM's run folder, never touching the vTPM file; logs TPM traffic (level 20).
set -eu
args=""
state=""
log=""
while [ $# -gt 0 ]; do
    case $1 in
    socket) ;;
    --key)
        fd=$(echo "$2" | sed -n 's/^fd=\([0-9]*\),mode=aes-256-gcm$/\1/p')
        [ -n "$fd" ] || { echo "swtpm_as_vtpmd: bad --key $2" >&2; exit 1; }
        n=$(eval "wc -c <&$fd")
        [ "$n" -eq 32 ] || { echo "swtpm_as_vtpmd: the key is $n bytes" >&2; exit 1; }
        eval "exec $fd<&-"
        shift ;;
    --vmid) shift ;;
    --tpmstate) state=1; shift ;;
    --ctrl) ctrl=$(echo "$2" | sed -n 's/.*path=\([^,]*\).*/\1/p'); args="$args $1 $2"; shift ;;
    --log) log="$2,level=20"; shift ;;
    *) args="$args $1" ;;
    esac
    shift
done
[ -n "$state" ] || { echo "swtpm_as_vtpmd: no --tpmstate" >&2; exit 1; }
dir=$(dirname "$ctrl")/swtpm-state
mkdir -p "$dir"
# shellcheck disable=SC2086
exec swtpm socket --tpmstate dir="$dir" --log "$log" $args
