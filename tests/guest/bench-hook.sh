#!/bin/sh
# make bench's guest-boot hook: bench-hook.sh NAME SERVER-COMMAND...
# Boots the test guest once (tests/guest/run.sh, tpm-crb) with that TPM server and prints
# tpm_wait_ms=<n>: the CPU time, in ms, the server process used over the whole run (start,
# the firmware's and the kernel's commands, shutdown). The guest waits on the TPM for at least
# that long; socket and scheduling latency come on top, alike for every server.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
name=$1
shift
server=$1
shift
# run.sh adds "socket --tpm2 --tpmstate ..." itself
if [ "${1:-}" = socket ] && [ "${2:-}" = --tpm2 ]; then
    shift 2
fi
extra="$*"
W=$(mktemp -d /tmp/vtpm-bench-guest.XXXXXX)
trap 'rm -rf "$W"' EXIT INT TERM
# A wrapper that runs the server as its child and, when it has exited, writes the child's
# user + system CPU time (getrusage of waited children) next to it.
cat >"$W/server" <<PY
#!/usr/bin/env python3
import resource, signal, subprocess, sys
child = subprocess.Popen(["$server"] + sys.argv[1:])
def stop(sig, frame):
    child.send_signal(sig)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
child.wait()
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open("$W/cpu", "w") as f:
    f.write("%.1f\n" % ((ru.ru_utime + ru.ru_stime) * 1000))
PY
chmod +x "$W/server"
VTPM_SERVER="$W/server" VTPM_SERVER_ARGS="$extra" "$here/run.sh" --device crb >"$W/run.log" 2>&1 ||
    { echo "bench-hook: the guest boot with $name failed:" >&2; tail -n 20 "$W/run.log" >&2; exit 1; }
i=0
while [ ! -s "$W/cpu" ] && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
[ -s "$W/cpu" ] || { echo "bench-hook: no CPU time recorded for $name" >&2; exit 1; }
echo "tpm_wait_ms=$(cat "$W/cpu")"
