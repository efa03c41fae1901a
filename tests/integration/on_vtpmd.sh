#!/bin/sh
# Run a tpm2-tools test script against vtpmd through tpm2-tss's swtpm TCTI, the way the tools
# talk to swtpm: vtpmd on loopback TCP with a data key and a VM id, --flags not-need-init (the
# TCTI never sends CMD_INIT). Usage: on_vtpmd.sh SCRIPT BUILD_DIR
set -eu
script=$1
build=$(cd "$2" && pwd)
W=$(mktemp -d /tmp/vtpm-on-vtpmd.XXXXXX)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT INT TERM
head -c 32 /dev/urandom >"$W/key"
chmod 600 "$W/key"
mkdir "$W/state"
# a free port pair: the TCTI uses port and port + 1
port=$(python3 -c '
import socket
for p in range(20000, 60000, 2):
    try:
        a = socket.socket(); a.bind(("127.0.0.1", p)); b = socket.socket(); b.bind(("127.0.0.1", p + 1))
        a.close(); b.close(); print(p); break
    except OSError:
        pass')
"$build/src/daemon/vtpmd" socket --tpm2 --tpmstate dir="$W/state" \
    --server type=tcp,port="$port" --ctrl type=tcp,port=$((port + 1)) \
    --flags not-need-init --key file="$W/key" --vmid on-vtpmd-test --log file="$W/log" &
pid=$!
i=0
while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 50 ] || { echo "vtpmd did not start:"; cat "$W/log"; exit 1; }
    sleep 0.1
done
export VTPM_TCTI="swtpm:host=127.0.0.1,port=$port"
"$script" "$build"
