#!/bin/bash
# One guest boot test: a TPM server (swtpm, or the command in VTPM_SERVER), QEMU with OVMF and a
# TPM device wired to it, the guest from tests/guest/build.sh; then the host checks what the
# guest saved on its data disk. See docs/guest-boot.md.
#
#   tests/guest/run.sh [--device crb|tis] [--reboot] [--seal] [--expect-saved]
#                      [--state DIR] [--out DIR] [--timeout SECONDS]
#
#   --device crb|tis  QEMU's TPM front end: tpm-crb (default) or tpm-tis
#   --reboot          the guest reboots once (reset, same QEMU and TPM server); PCRs must come
#                     back reset and be re-measured to the same values
#   --seal            the guest seals a secret (password and PCR-policy objects) and unseals it;
#                     objects saved by an earlier boot (a reboot, or a run on the same --state)
#                     are unsealed instead and compared with the saved secret
#   --expect-saved    this run must unseal objects sealed by an earlier run on the same --state
#   --state DIR       keep the TPM state (DIR/tpm) and the sealed objects (DIR/seal) between
#                     runs; without it both live in a temporary directory
#   --out DIR         keep the console log, server log and the guest's data (boot<N>/) there
#   --timeout SECONDS the whole QEMU run, default 300
#
# Environment:
#   VTPM_SERVER       the TPM server command, default "swtpm"; started as
#                     $VTPM_SERVER socket --tpm2 --tpmstate dir=<state> \
#                         --ctrl type=unixio,path=<socket> --log file=<log> $VTPM_SERVER_ARGS
#   VTPM_SERVER_ARGS  extra arguments appended to that command line (e.g. --flags ..., --key ...)
#   VTPM_QEMU         default qemu-system-x86_64
#   VTPM_OVMF_CODE    default /usr/share/OVMF/OVMF_CODE_4M.fd (VARS: VTPM_OVMF_VARS)
#   VTPM_GUEST_FIRMWARE_RETRIES  how many times a run whose firmware crashed (OVMF's
#                     "!!!! X64 Exception" on the console) is repeated from scratch, default 1.
#                     OVMF 2022.11 under TCG crashed once in about 20 warm resets here (#UD in
#                     a DXE driver, before the kernel starts); every retry is reported.
#
# Exit status 0 when every check passed; otherwise 1 and the reasons on stderr. Every process it
# starts is stopped and its temporary directory removed, on success, failure or interrupt.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
DEVICE=crb
REBOOT=0
SEAL=0
EXPECT_SAVED=0
STATE=""
OUTDIR=""
TIMEOUT=300
SERVER_CMD=${VTPM_SERVER:-swtpm}
QEMU=${VTPM_QEMU:-qemu-system-x86_64}
# glibc's MALLOC_PERTURB_ (meson sets it for every test) makes QEMU 7.2's TCG run OVMF into an
# invalid-opcode fault on some guest resets: seen with values 88 and 150, never without it.
unset MALLOC_PERTURB_
OVMF_CODE=${VTPM_OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
OVMF_VARS=${VTPM_OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}
DISK_FORMAT="vtpm-guest-data 1"

ORIG_ARGS=("$@")
ATTEMPT=${VTPM_GUEST_ATTEMPT:-1}
FW_RETRIES=${VTPM_GUEST_FIRMWARE_RETRIES:-1}
FW_CRASH=0
W=""
SERVER_PID=""
QEMU_PID=""
FAILS=()
T0=$EPOCHREALTIME

usage() {
    sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

fail() {
    FAILS+=("$*")
}

elapsed() {
    awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

# Stop a process we started: TERM, up to 5 s, then KILL. Only ever by its PID.
stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    stop_pid "$QEMU_PID"
    stop_pid "$SERVER_PID"
    QEMU_PID=""
    SERVER_PID=""
    [ -n "$W" ] && rm -rf "$W"
    W=""
}
trap cleanup EXIT
trap 'echo "guest-boot: interrupted" >&2; exit 130' INT TERM HUP

while [ $# -gt 0 ]; do
    case $1 in
    --device) DEVICE=${2:-}; shift ;;
    --reboot) REBOOT=1 ;;
    --seal) SEAL=1 ;;
    --expect-saved) EXPECT_SAVED=1; SEAL=1 ;;
    --state) STATE=${2:-}; shift ;;
    --out) OUTDIR=${2:-}; shift ;;
    --timeout) TIMEOUT=${2:-}; shift ;;
    -h | --help) usage ;;
    *) echo "guest-boot: unknown option '$1'" >&2; usage ;;
    esac
    shift
done

die() {
    echo "guest-boot: $*" >&2
    exit 1
}

case $DEVICE in
crb | tis) ;;
*) die "--device must be crb or tis, not '$DEVICE'." ;;
esac
case $TIMEOUT in
'' | *[!0-9]*) die "--timeout must be a number of seconds, not '$TIMEOUT'." ;;
esac
[ "$EXPECT_SAVED" = 0 ] || [ -n "$STATE" ] ||
    die "--expect-saved needs --state DIR from an earlier --seal run."
read -ra SERVER <<<"$SERVER_CMD"
read -ra SERVER_ARGS <<<"${VTPM_SERVER_ARGS:-}"
[ ${#SERVER[@]} -gt 0 ] || die "VTPM_SERVER is empty."
command -v "${SERVER[0]}" >/dev/null || die "the TPM server '${SERVER[0]}' is not executable."
command -v "$QEMU" >/dev/null || die "$QEMU is not installed (qemu-system-x86)."
[ -r "$OVMF_CODE" ] && [ -r "$OVMF_VARS" ] || die "OVMF is missing: $OVMF_CODE, $OVMF_VARS (ovmf)."
command -v python3 >/dev/null || die "python3 is needed for the event log check."

# ---- the guest -----------------------------------------------------------------------------
guest=$("$HERE/build.sh") || die "building the guest failed (see above)."
KERNEL=$(echo "$guest" | sed -n 's/^VTPM_GUEST_KERNEL=//p')
INITRD=$(echo "$guest" | sed -n 's/^VTPM_GUEST_INITRD=//p')
[ -r "$KERNEL" ] && [ -r "$INITRD" ] || die "build.sh named no readable kernel and initramfs."
T_BUILD=$(elapsed)

W=$(mktemp -d "${TMPDIR:-/tmp}/vtpm-guest.XXXXXX") || die "cannot create a temporary directory."
if [ -n "$STATE" ]; then
    mkdir -p "$STATE/tpm" || die "cannot create $STATE/tpm."
    STATE=$(cd "$STATE" && pwd)
    TPMSTATE=$STATE/tpm
else
    TPMSTATE=$W/tpm
    mkdir -p "$TPMSTATE"
fi

# The data disk: a tar the guest reads at start and rewrites before it powers off.
mkdir -p "$W/disk"
echo "$DISK_FORMAT" >"$W/disk/disk-format"
HAD_SEAL=0
if [ -n "$STATE" ] && [ -d "$STATE/seal" ]; then
    cp -a "$STATE/seal" "$W/disk/seal"
    HAD_SEAL=1
fi
[ "$EXPECT_SAVED" = 0 ] || [ "$HAD_SEAL" = 1 ] ||
    die "--expect-saved: $STATE/seal does not exist; run once with --seal --state $STATE first."
tar -cf "$W/data.img" -C "$W/disk" . && truncate -s 16M "$W/data.img" ||
    die "cannot write the data disk image."
cp "$OVMF_VARS" "$W/OVMF_VARS.fd" || die "cannot copy $OVMF_VARS."

# ---- the TPM server ------------------------------------------------------------------------
"${SERVER[@]}" socket --tpm2 --tpmstate "dir=$TPMSTATE" --ctrl "type=unixio,path=$W/ctrl.sock" \
    --log "file=$W/server.log" "${SERVER_ARGS[@]}" </dev/null >"$W/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    [ -S "$W/ctrl.sock" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [ ! -S "$W/ctrl.sock" ]; then
    cat "$W/server.out" "$W/server.log" 2>/dev/null | tail -n 20 | sed 's/^/  server: /' >&2
    kill -0 "$SERVER_PID" 2>/dev/null ||
        die "the TPM server (${SERVER[*]}) exited at start without creating its control socket."
    die "the TPM server (${SERVER[*]}) did not create its control socket within 10 s."
fi

# ---- QEMU ----------------------------------------------------------------------------------
BOOTS=1
[ "$REBOOT" = 1 ] && BOOTS=2
TEST=basic
[ "$SEAL" = 1 ] && TEST=seal
CMDLINE="console=ttyS0 panic=-1 vtpm.test=$TEST vtpm.reboot=$REBOOT"
# shellcheck disable=SC2054 # the commas belong to QEMU's option values
QEMU_ARGS=(-machine q35,accel=tcg -m 512 -smp 1 -nodefaults -no-user-config -display none
    -drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
    -drive "if=pflash,format=raw,unit=1,file=$W/OVMF_VARS.fd"
    -kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE"
    -serial "file:$W/console.log"
    -drive "if=none,id=data,format=raw,file=$W/data.img" -device virtio-blk-pci,drive=data
    -chardev "socket,id=chrtpm,path=$W/ctrl.sock" -tpmdev emulator,id=tpm0,chardev=chrtpm
    -device "tpm-$DEVICE,tpmdev=tpm0")
[ "$REBOOT" = 1 ] || QEMU_ARGS+=(-no-reboot)
T_QEMU=$EPOCHREALTIME
timeout --kill-after=5 "$TIMEOUT" "$QEMU" "${QEMU_ARGS[@]}" </dev/null >"$W/qemu.out" 2>&1 &
QEMU_PID=$!

# Watch the console: stop early on a kernel panic, on a boot more than expected (a guest that
# could not record its first boot would loop), or when the TPM server dies under QEMU.
declare -A T_PASS=()
while kill -0 "$QEMU_PID" 2>/dev/null; do
    sleep 0.2
    log=$(tr -d '\r' <"$W/console.log" 2>/dev/null)
    for n in $(seq "$BOOTS"); do
        if [ -z "${T_PASS[$n]:-}" ] && echo "$log" | grep -q "^VTPM-\(PASS\|FAIL\) boot=$n\b"; then
            T_PASS[$n]=$(awk -v a="$T_QEMU" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
        fi
    done
    if echo "$log" | grep -q '^!!!! X64 Exception'; then
        fail "the firmware (OVMF) crashed: $(echo "$log" | grep -m1 '^!!!! X64 Exception')"
        FW_CRASH=1
        break
    fi
    if echo "$log" | grep -q "Kernel panic"; then
        fail "the guest kernel panicked: $(echo "$log" | grep -m1 'Kernel panic')"
        break
    fi
    if [ "$(echo "$log" | grep -c '^VTPM-BOOT ')" -gt "$BOOTS" ]; then
        fail "the guest booted more than $BOOTS times (it could not record a boot on its disk)"
        break
    fi
    # swtpm exits as soon as QEMU closes the connection, so a server gone while QEMU is still
    # shutting down is normal; one gone while QEMU keeps running 3 s later is not.
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        for _ in $(seq 30); do
            kill -0 "$QEMU_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$QEMU_PID" 2>/dev/null; then
            fail "the TPM server exited while QEMU was running"
            break
        fi
    fi
done
stop_pid "$QEMU_PID" # no-op when QEMU already exited
wait "$QEMU_PID" 2>/dev/null
QEMU_RC=$?
QEMU_PID=""
T_RUN=$(awk -v a="$T_QEMU" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
case $QEMU_RC in
0) ;;
124 | 137) fail "QEMU did not finish within $TIMEOUT s" ;;
*) [ ${#FAILS[@]} -gt 0 ] ||
    fail "QEMU exited with status $QEMU_RC: $(tail -n 1 "$W/qemu.out" 2>/dev/null)" ;;
esac
# The server may exit on its own once QEMU is gone (swtpm does); give it a moment.
for _ in $(seq 30); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
stop_pid "$SERVER_PID"
SERVER_PID=""

# ---- checks --------------------------------------------------------------------------------
CONSOLE=$(tr -d '\r' <"$W/console.log" 2>/dev/null)
mkdir -p "$W/data"
tar -xf "$W/data.img" -C "$W/data" 2>/dev/null || fail "the data disk holds no readable tar"
[ "$(cat "$W/data/disk-format" 2>/dev/null)" = "$DISK_FORMAT" ] ||
    fail "the data disk lost its format marker"

result() { # result <boot> <key>: a value the guest recorded
    sed -n "s/^$2=//p" "$W/data/boot$1/results" 2>/dev/null | tail -n 1
}

REPLAY=""
for n in $(seq "$BOOTS"); do
    line=$(echo "$CONSOLE" | grep -m1 "^VTPM-\(PASS\|FAIL\) boot=$n\b")
    case $line in
    VTPM-PASS*) ;;
    VTPM-FAIL*) fail "boot $n: the guest reported: ${line#VTPM-FAIL boot="$n" }" ;;
    *) fail "boot $n never reported VTPM-PASS or VTPM-FAIL on the console" ;;
    esac
    [ -s "$W/data/boot$n/results" ] || { fail "boot $n saved no results on the data disk"; continue; }
    [ "$(result "$n" status)" = PASS ] || fail "boot $n: results on the disk say status=$(result "$n" status)"
    [ "$(result "$n" driver)" = "tpm_$DEVICE" ] ||
        fail "boot $n: the kernel bound driver '$(result "$n" driver)', not tpm_$DEVICE"
    if [ -s "$W/data/boot$n/eventlog.bin" ] && [ -s "$W/data/boot$n/pcrs.txt" ]; then
        ima=()
        [ -s "$W/data/boot$n/ima.bin" ] && ima=(--ima "$W/data/boot$n/ima.bin")
        out=$(python3 "$HERE/eventlog.py" check --log "$W/data/boot$n/eventlog.bin" \
            --pcrs "$W/data/boot$n/pcrs.txt" "${ima[@]}" 2>&1)
        rc=$?
        REPLAY+="  boot $n replay:"$'\n'"$(echo "$out" | sed 's/^/    /')"$'\n'
        [ "$rc" = 0 ] || fail "boot $n: the event log replay does not match the PCRs (eventlog.py exit $rc)"
    else
        fail "boot $n saved no event log or PCR values"
    fi
    if [ "$SEAL" = 1 ]; then
        want=new
        { [ "$n" -gt 1 ] || [ "$HAD_SEAL" = 1 ]; } && want=saved
        got=$(result "$n" seal)
        case $want:$got in
        new:new | saved:saved-*) ;;
        *) fail "boot $n: expected a $want seal, the guest reports seal=${got:-nothing}" ;;
        esac
    fi
done
if [ "$REBOOT" = 1 ] && [ -s "$W/data/boot1/pcrs.txt" ] && [ -s "$W/data/boot2/pcrs.txt" ]; then
    if cmp -s "$W/data/boot1/pcrs.txt" "$W/data/boot2/pcrs.txt"; then
        REBOOT_NOTE="every PCR of every bank equal after the reset"
    else
        fail "the PCRs after the reboot differ from the first boot: $(diff "$W/data/boot1/pcrs.txt" \
            "$W/data/boot2/pcrs.txt" | grep -c '^>') values"
    fi
fi
# A failed run leaves the kept sealed objects as they were.
if [ -n "$STATE" ] && [ -d "$W/data/seal" ] && [ ${#FAILS[@]} -eq 0 ]; then
    rm -rf "$STATE/seal.new" && cp -a "$W/data/seal" "$STATE/seal.new" &&
        rm -rf "$STATE/seal" && mv "$STATE/seal.new" "$STATE/seal" ||
        fail "cannot keep the sealed objects in $STATE/seal"
fi
if [ -n "$OUTDIR" ]; then
    mkdir -p "$OUTDIR" && cp -a "$W/console.log" "$W/data" "$OUTDIR/" &&
        cp "$W/server.log" "$OUTDIR/server.log" 2>/dev/null
    cp "$W/server.out" "$OUTDIR/server.out" 2>/dev/null
fi

# ---- report --------------------------------------------------------------------------------
what="tpm-$DEVICE, $BOOTS boot(s)"
[ "$SEAL" = 1 ] && what+=", seal"
[ "$HAD_SEAL" = 1 ] && what+=" (saved objects from an earlier run)"
[ "$ATTEMPT" -gt 1 ] && what+=" (attempt $ATTEMPT: earlier attempts hit a firmware crash)"
times="build/cache ${T_BUILD}s, QEMU ${T_RUN}s"
for n in $(seq "$BOOTS"); do
    [ -n "${T_PASS[$n]:-}" ] && times+=", boot $n done at ${T_PASS[$n]}s"
done
echo "guest-boot: server: ${SERVER[*]} ${SERVER_ARGS[*]}"
echo "guest-boot: kernel $(basename "$(dirname "$KERNEL")"), initramfs $(basename "$INITRD")"
echo "$CONSOLE" | grep '^VTPM-RESULT' | sed 's/^/  /'
printf '%s' "$REPLAY"
[ -n "${REBOOT_NOTE:-}" ] && echo "  reboot: $REBOOT_NOTE"
if [ ${#FAILS[@]} -eq 0 ]; then
    echo "guest-boot: PASS: $what; $times; total $(elapsed)s"
    exit 0
fi
{
    echo "guest-boot: last console lines:"
    echo "$CONSOLE" | tail -n 25 | sed 's/^/  console: /'
    tail -n 5 "$W/qemu.out" 2>/dev/null | sed 's/^/  qemu: /'
    tail -n 10 "$W/server.out" 2>/dev/null | sed 's/^/  server: /'
    for f in "${FAILS[@]}"; do
        echo "guest-boot: FAIL: $f"
    done
    echo "guest-boot: FAIL: $what; $times; total $(elapsed)s"
} >&2
if [ "$FW_CRASH" = 1 ] && [ "$ATTEMPT" -le "$FW_RETRIES" ]; then
    echo "guest-boot: RETRY: the firmware (OVMF) crashed; starting the whole run" \
        "again (attempt $((ATTEMPT + 1)) of $((FW_RETRIES + 1)))" >&2
    cleanup
    VTPM_GUEST_ATTEMPT=$((ATTEMPT + 1)) exec "$0" "${ORIG_ARGS[@]}"
fi
exit 1
