#!/bin/bash
# Seal, stop everything, unseal: two QEMU runs and two TPM server processes on one kept state
# directory. The first run seals a secret (tests/guest/run.sh --seal), the second starts a new
# server on the same state and must unseal it (--expect-saved). Extra options go to both runs.
#   tests/guest/persist.sh [--device crb|tis] ...
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
STATE=$(mktemp -d "${TMPDIR:-/tmp}/vtpm-guest-state.XXXXXX") || exit 1
trap 'rm -rf "$STATE"' EXIT
trap 'exit 130' INT TERM HUP

echo "guest-persist: run 1 of 2: seal"
"$HERE/run.sh" --seal --state "$STATE" "$@" || {
    echo "guest-persist: FAIL: the sealing run failed" >&2
    exit 1
}
echo "guest-persist: run 2 of 2: a new server on the same state must unseal"
"$HERE/run.sh" --expect-saved --state "$STATE" "$@" || {
    echo "guest-persist: FAIL: the unsealing run failed" >&2
    exit 1
}
echo "guest-persist: PASS"
