#!/bin/bash
# Meson test (suite 'unit'): the benchmark harness against Debian's swtpm, a handful of
# iterations. It proves that every benchmark command and mode (keys, sessions, NV, signing) is
# answered with success and passes the client's checks on a real TPM and on this tree's vtpmd,
# that the client refuses error answers and uncommitted state, and that bench/run.sh produces
# a complete table (swtpm measured against itself). It asserts no timing.
#   bench/selftest.sh TPMBENCH SWTPM BUILD_ROOT [VTPMD]
set -euo pipefail

TPMBENCH=$1
SWTPM=${2:-}
BUILD=$3
VTPMD=${4:-}
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
    p=$(( 20000 + RANDOM % 12000 )) # below the kernel's ephemeral ports (32768-)
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
# every mode, keys and NV included, on both servers; the commit checks on the NV writes
timeout 120 "$TPMBENCH" lat -n 3 -b 2 -w 2 -C all -e "unix:$W/u/data" -s "$W/u/state" \
    -e "tcp:$port" -s "$W/t/state" > "$W/all.out" || fail "tpmbench lat -C all failed"
n=$(count '^RESULT ep=[01] cmd=[a-z_]* n=3 median_us=[0-9.]* p99_us=[0-9.]*' "$W/all.out")
[ "$n" = 54 ] || fail "expected 54 results (21 modes + 6 flow steps, 2 servers), got $n"
grep -q '^RESULT ep=1 cmd=salted_hmac ' "$W/all.out" || fail "no result for the HMAC step"
# ... and the keys were flushed and the indices undefined: all of it again on the same TPM
timeout 120 "$TPMBENCH" lat -n 2 -b 2 -w 0 -C nvwrite,seal,quote -e "unix:$W/u/data" \
    > /dev/null || fail "a second run on the same TPM failed: the first left objects behind"
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

# 5. the whole harness, tiny, swtpm against itself: every figure present, ratios computed,
#    and the hand-written analysis of the previous report carried over.
printf '# old\n\n## What limits the missed targets\n\nkept-notes-42\n' > "$W/report.md"
BENCH_B="$SWTPM socket --tpm2" BENCH_B_NAME=swtpm-B BENCH_A="$SWTPM socket --tpm2" \
    BENCH_STARTS=2 BENCH_INSTANCES=3 BENCH_ITERS=20 BENCH_NV_ITERS=10 BENCH_OPS_ITERS=3 \
    BENCH_RSA_ITERS=2 BENCH_LOAD=30 BENCH_OUT="$W/report.md" \
    timeout 150 "$HERE/run.sh" "$BUILD" > "$W/run.out" 2> "$W/run.err" ||
    fail "bench/run.sh failed: $(tail -n 20 "$W/run.err")"
rows=$(count '^| [^*].* | [0-9][0-9.]* | [0-9][0-9.]* | [0-9][0-9.]* | ' "$W/report.md")
[ "$rows" -ge 90 ] || fail "the report has $rows complete rows, expected at least 90"
grep -q '^| Quote(8 sha256 PCRs.* median | [0-9.]* | [0-9.]* | [0-9.]* | ≤ 0.6 [✓✗] |$' \
    "$W/report.md" || fail "the report has no targeted Quote row"
grep -q '^kept-notes-42$' "$W/report.md" || fail "the hand-written notes were not carried over"
! grep -q '^# old$' "$W/report.md" || fail "the old report was not replaced"
! grep -q 'n/a' "$W/report.md" || fail "the report has missing figures: $(grep n/a "$W/report.md")"
grep -q '^| machine | [0-9]* CPUs' "$W/report.md" || fail "the report names no machine"
cmp -s "$W/run.out" "$W/report.md" || fail "the printed report differs from the written one"

# 6. this tree's vtpmd answers every mode as swtpm does (with --key when it accepts one).
if [ -n "$VTPMD" ] && [ -x "$VTPMD" ]; then
    mkdir -p "$W/v/state"
    ( umask 077; printf '%064d' 7 > "$W/v/key" )
    key=()
    if "$VTPMD" socket --tpm2 --key "file=$W/v/key" --print-capabilities > /dev/null 2>&1; then
        key=(--key "file=$W/v/key")
    fi
    "$VTPMD" socket --tpm2 --tpmstate "dir=$W/v/state" --ctrl "type=unixio,path=$W/v/ctrl" \
        --server "type=unixio,path=$W/v/data" --flags not-need-init,startup-clear "${key[@]}" \
        >> "$W/vtpmd.log" 2>&1 &
    PIDS+=($!)
    timeout 30 "$TPMBENCH" ping -e "unix:$W/v/data" || fail "vtpmd did not answer"
    timeout 120 "$TPMBENCH" lat -n 3 -b 2 -w 2 -C all -e "unix:$W/u/data" -s "$W/u/state" \
        -e "unix:$W/v/data" -s "$W/v/state" > "$W/v.out" ||
        fail "tpmbench lat -C all against vtpmd failed (vtpmd log: $(tail -n 5 "$W/vtpmd.log"))"
    n=$(count '^RESULT ep=1 cmd=[a-z_]* n=3 median_us=' "$W/v.out")
    [ "$n" = 27 ] || fail "expected 27 vtpmd results, got $n"
    echo "vtpmd answered every mode${key[*]:+ (with --key)}"
fi
echo "PASS: harness against $SWTPM"
