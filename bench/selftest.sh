#!/bin/bash
# Meson test (suite 'unit'): the benchmark harness against Debian's swtpm, a handful of
# iterations. It proves that every benchmark command is answered with success by a real TPM,
# that the client refuses error answers and uncommitted state, and that bench/run.sh produces
# a complete table (swtpm measured against itself). It asserts no timing.
#   bench/selftest.sh TPMBENCH SWTPM BUILD_ROOT
set -euo pipefail

TPMBENCH=$1
SWTPM=${2:-}
BUILD=$3
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "$SWTPM" ]; then
    echo "SKIP: swtpm is not installed (scripts/deps.sh installs it)"
    exit 77
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/vtpm-bench-test.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# swtpm D [FLAGS] [SERVER]: one swtpm in the background, started as QEMU/libvirt do.
swtpm_bg() {
    local d=$1 flags=${2:-not-need-init,startup-clear} server=${3:-type=unixio,path=$1/data}
    mkdir -p "$d/state"
    "$SWTPM" socket --tpm2 --tpmstate "dir=$d/state" --ctrl "type=unixio,path=$d/ctrl" \
        --flags "$flags" --server "$server" >>"$W/swtpm.log" 2>&1 &
    PIDS+=($!)
}

count() { grep -c "$1" "$2" || true; }

# 1. start: spawn, first answer, CMD_SHUTDOWN, process reaped.
mkdir -p "$W/s/state"
timeout 30 "$TPMBENCH" start -l "$W/swtpm.log" -e "unix:$W/s/data" -c "$W/s/ctrl" -- \
    "$SWTPM" socket --tpm2 --tpmstate "dir=$W/s/state" --ctrl "type=unixio,path=$W/s/ctrl" \
    --server "type=unixio,path=$W/s/data" --flags not-need-init,startup-clear > "$W/start.out"
grep -Eq '^RESULT start_us=[0-9.]+ stop_us=[0-9.]+ pid=[0-9]+$' "$W/start.out" ||
    fail "tpmbench start printed no result: $(cat "$W/start.out")"
pid=$(sed 's/.*pid=//' "$W/start.out")
[ ! -e "/proc/$pid" ] || fail "the server started by tpmbench start still runs after it"
[ -s "$W/s/state/tpm2-00.permall" ] || fail "swtpm wrote no state in the start test"

# 2. every command, with the commit check, against a unix and a TCP server, interleaved.
port=
for _ in $(seq 1 100); do
    p=$(( 20000 + RANDOM % 20000 ))
    if ! ss -Hltn "sport = :$p" | grep -q .; then port=$p; break; fi
done
[ -n "$port" ] || fail "no free TCP port for the test server"
swtpm_bg "$W/u"
swtpm_bg "$W/t" not-need-init,startup-clear "type=tcp,port=$port"
timeout 30 "$TPMBENCH" ping -e "unix:$W/u/data" -e "tcp:$port" || fail "ping failed"
timeout 60 "$TPMBENCH" lat -n 20 -b 7 -w 3 -e "unix:$W/u/data" -s "$W/u/state" \
    -e "tcp:$port" -s "$W/t/state" > "$W/lat.out" || fail "tpmbench lat failed"
n=$(count '^RESULT ep=[01] cmd=[a-z]* n=20 median_us=[0-9.]* p99_us=[0-9.]*' "$W/lat.out")
[ "$n" = 16 ] || fail "expected 16 results (8 commands x 2 servers), got $n: $(cat "$W/lat.out")"
timeout 60 "$TPMBENCH" load -n 40 -e "unix:$W/u/data" || fail "tpmbench load failed"
# Every run ends with the owner auth empty again (the next client assumes it): a
# HierarchyChangeAuth authorized with the empty auth must succeed.
timeout 30 "$TPMBENCH" lat -n 1 -w 0 -C changeauth -e "unix:$W/u/data" > /dev/null ||
    fail "the owner auth was not restored to empty after the run"

# 3. a commit check that must fail: the state folder given is not the server's.
mkdir -p "$W/empty"
if timeout 30 "$TPMBENCH" lat -n 2 -w 2 -C daparams -e "unix:$W/u/data" -s "$W/empty" \
        > /dev/null 2> "$W/nocommit.err"; then
    fail "tpmbench accepted a state-changing command whose state folder did not change"
fi
grep -q 'did not commit' "$W/nocommit.err" || fail "wrong refusal: $(cat "$W/nocommit.err")"

# 4. an error answer must end the run: a TPM without TPM2_Startup answers TPM_RC_INITIALIZE.
swtpm_bg "$W/n" not-need-init
if timeout 30 "$TPMBENCH" ping -e "unix:$W/n/data" 2> "$W/init.err"; then
    fail "tpmbench accepted an answer from a TPM that was never started up"
fi
grep -q 'response code 0x100' "$W/init.err" || fail "wrong refusal: $(cat "$W/init.err")"

# ... and tpmbench start must not leave the server it spawned running after such an answer.
mkdir -p "$W/e/state"
if timeout 30 "$TPMBENCH" start -l "$W/swtpm.log" -e "unix:$W/e/data" -c "$W/e/ctrl" -- \
        "$SWTPM" socket --tpm2 --tpmstate "dir=$W/e/state" --ctrl "type=unixio,path=$W/e/ctrl" \
        --server "type=unixio,path=$W/e/data" --flags not-need-init 2> "$W/start.err"; then
    fail "tpmbench start accepted an answer from a TPM that was never started up"
fi
grep -q 'response code 0x100' "$W/start.err" || fail "wrong refusal: $(cat "$W/start.err")"
! pgrep -f "dir=$W/e/state" > /dev/null || fail "tpmbench start left its server running"

# 5. the whole harness, tiny, swtpm against itself: every figure present, ratios computed.
BENCH_B="$SWTPM socket --tpm2" BENCH_B_NAME=swtpm-B BENCH_A="$SWTPM socket --tpm2" \
    BENCH_STARTS=2 BENCH_INSTANCES=3 BENCH_ITERS=20 BENCH_NV_ITERS=10 BENCH_LOAD=30 \
    BENCH_OUT="$W/report.md" timeout 120 "$HERE/run.sh" "$BUILD" > "$W/run.out" 2> "$W/run.err" ||
    fail "bench/run.sh failed: $(tail -n 20 "$W/run.err")"
rows=$(count '^| [^*].* | [0-9][0-9.]* | [0-9][0-9.]* | [0-9][0-9.]* | ' "$W/report.md")
[ "$rows" -ge 50 ] || fail "the report has $rows complete rows, expected at least 50"
! grep -q 'n/a' "$W/report.md" || fail "the report has missing figures: $(grep n/a "$W/report.md")"
grep -q '^| machine | [0-9]* CPUs' "$W/report.md" || fail "the report names no machine"
cmp -s "$W/run.out" "$W/report.md" || fail "the printed report differs from the written one"
echo "PASS: harness against $SWTPM"
