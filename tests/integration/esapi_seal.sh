#!/bin/sh
# Run the ESAPI seal/unseal client (tests/integration/esapi_seal.c) built in BUILD_DIR against
# the TPM that VTPM_TCTI names (on_vtpmd.sh starts vtpmd and sets it).
# Usage: esapi_seal.sh BUILD_DIR
set -eu
build=$(cd "${1:-build}" && pwd)
[ -n "${VTPM_TCTI:-}" ] || { echo "esapi_seal.sh: VTPM_TCTI is not set."; exit 1; }
exec timeout 120 "$build/tests/esapi_seal"
