#!/bin/sh
# /init of the guest that tests/guest/run.sh boots (see docs/guest-boot.md). It runs as PID 1
# in a busybox initramfs under QEMU + OVMF with a TPM 2.0 device, checks the TPM from inside the
# guest, saves what the host verifies to the data disk, prints VTPM-* lines on the serial console
# and powers off (or reboots once when asked).
#
# Kernel command line (read from /proc/cmdline; it is the same on every boot of one QEMU run):
#   vtpm.test=basic   device nodes, version, PCRs of every bank, event logs, tpm2-tools
#                     getrandom / pcrread / getcap through the kernel's resource manager (default)
#   vtpm.test=seal    also: when the data disk holds sealed objects from an earlier boot, unseal
#                     them and compare with the saved secret; otherwise seal a new secret twice
#                     (password, and a policy over PCRs 0-7), unseal both in this boot, check a
#                     PCR-policy object stops unsealing once its PCR moves, and save the objects
#   vtpm.test=migrate (tests/guest/migrate.py) no data disk; after the basic checks: extend PCR
#                     16, define and write an NV index, set the owner authorization, print
#                     VTPM-MIGRATE-READY and wait for a line on the console; the host live-
#                     migrates the VM to another QEMU and vtpmd meanwhile and then types "go".
#                     Then read PCR 16 and the NV index back (with the owner authorization) and
#                     print VTPM-MIGRATE-PASS or VTPM-MIGRATE-FAIL <reasons>
#   vtpm.reboot=1     reboot once after the first boot recorded on this disk (`reboot -f`), power
#                     off after the second
#   vtpm.halt=1       stay up after each boot instead of powering off: the host reboots or stops
#                     the VM itself (make demo does, through vtpmctl)
#
# Data disk (/dev/vda, raw): a tar archive. The host writes disk-format (and seal/ to unseal in a
# later run); the guest extracts it at start and writes it back at the end with boot-count and
# boot<N>/: results, pcrs.txt ("<bank> <index> <hex>" lines from sysfs), eventlog.bin (firmware
# log), ima.bin (IMA's binary measurement list). boot-count is how the guest tells its first
# boot from the second: the kernel command line cannot change across a guest reset.
#
# Console: VTPM-BOOT, VTPM-RESULT boot=<N> <key>=<value>, VTPM-LOG, and last either
# VTPM-PASS boot=<N> or VTPM-FAIL boot=<N> <reason>[; <reason>...].
# shellcheck shell=dash # dash (Debian /bin/sh) and busybox ash both have `local`

export PATH=/bin:/usr/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
TCTI_RM=device:/dev/tpmrm0
TCTI_RAW=device:/dev/tpm0
DISK_FORMAT="vtpm-guest-data 1"
SEAL=/data/seal
PCR_POLICY=sha256:0,1,2,3,4,5,6,7
TOOL_TIMEOUT=120

BOOT=0
OUT=/tmp/out
FAILS=""
DISK=""
TEST=basic
REBOOT=0
HALT=0

result() {
    echo "VTPM-RESULT boot=$BOOT $1=$2"
    echo "$1=$2" >>"$OUT/results"
}

fail() {
    echo "VTPM-CHECK-FAIL boot=$BOOT $*"
    FAILS="$FAILS; $*"
}

# Run one tpm2-tools command: t2 <tag> <tool> <args...>. Its stdout stays in /tmp/<tag>.out;
# on failure its stderr goes to the console as VTPM-LOG lines.
t2() {
    local tag=$1
    shift
    if timeout "$TOOL_TIMEOUT" tpm2 "$@" >"/tmp/$tag.out" 2>"/tmp/$tag.err"; then
        return 0
    fi
    echo "VTPM-LOG tpm2 $1 ($tag) failed:"
    head -n 20 "/tmp/$tag.err" | sed 's/^/VTPM-LOG   /'
    return 1
}

hex_of() {
    od -An -v -tx1 "$1" | tr -d ' \n'
}

setup() {
    mount -t proc proc /proc
    mount -t sysfs sysfs /sys
    mount -t devtmpfs devtmpfs /dev
    mount -t securityfs securityfs /sys/kernel/security
    mount -t tmpfs tmpfs /tmp
    mkdir -p /data "$OUT"
    for arg in $(cat /proc/cmdline); do
        case $arg in
        vtpm.test=*) TEST=${arg#vtpm.test=} ;;
        vtpm.reboot=*) REBOOT=${arg#vtpm.reboot=} ;;
        vtpm.halt=*) HALT=${arg#vtpm.halt=} ;;
        esac
    done
}

# Load the virtio modules, find /dev/vda and unpack it into /data; sets BOOT and OUT.
open_disk() {
    local m i prev
    for m in $(cat /lib/modules/order); do
        insmod "/lib/modules/$m.ko" 2>/dev/null || echo "VTPM-LOG insmod $m failed"
    done
    i=0
    while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if [ -b /dev/vda ] && tar -xf /dev/vda -C /data 2>/tmp/tar.err &&
        [ "$(cat /data/disk-format 2>/dev/null)" = "$DISK_FORMAT" ]; then
        DISK=/dev/vda
    fi
    prev=$(cat /data/boot-count 2>/dev/null || echo 0)
    case $prev in
    '' | *[!0-9]*) prev=0 ;;
    esac
    BOOT=$((prev + 1))
    mkdir -p "/data/boot$BOOT"
    mv "$OUT/results" "/data/boot$BOOT/results" 2>/dev/null
    OUT=/data/boot$BOOT
    echo "VTPM-BOOT n=$BOOT test=$TEST reboot=$REBOOT disk=${DISK:-none}"
    [ -n "$DISK" ] || fail "no data disk: /dev/vda missing or not a tar with $DISK_FORMAT"
}

check_device() {
    local d major drv
    for d in /dev/tpm0 /dev/tpmrm0; do
        if [ -c "$d" ]; then
            result "${d#/dev/}" present
        else
            result "${d#/dev/}" missing
            fail "$d is missing"
        fi
    done
    major=$(cat /sys/class/tpm/tpm0/tpm_version_major 2>/dev/null)
    result tpm_version_major "${major:-unreadable}"
    [ "$major" = 2 ] || fail "tpm_version_major is '${major:-unreadable}', not 2"
    drv=$(readlink /sys/class/tpm/tpm0/device/driver 2>/dev/null)
    result driver "${drv##*/}"
}

# Every PCR of every bank the kernel exposes, as "<bank> <index> <lowercase hex>".
read_pcrs() {
    local d bank n v banks=""
    : >"$OUT/pcrs.txt"
    for d in /sys/class/tpm/tpm0/pcr-*; do
        [ -d "$d" ] || continue
        bank=${d##*/pcr-}
        banks="$banks,$bank"
        n=0
        while [ $n -lt 24 ]; do
            v=$(cat "$d/$n" 2>/dev/null)
            case $v in
            '' | *[!0-9A-Fa-f]*) fail "cannot read PCR $bank:$n from sysfs" ;;
            *) echo "$bank $n $v" | tr 'A-F' 'a-f' >>"$OUT/pcrs.txt" ;;
            esac
            # the boot measurements (PCRs 0-7) of sha256 on the console too, for people
            if [ "$bank" = sha256 ] && [ $n -lt 8 ]; then
                result "pcr_sha256_$n" "$(echo "$v" | tr 'A-F' 'a-f')"
            fi
            n=$((n + 1))
        done
    done
    result pcr_banks "${banks#,}"
    result pcr_values "$(wc -l <"$OUT/pcrs.txt")"
    [ -n "$banks" ] || fail "no /sys/class/tpm/tpm0/pcr-<bank> directories"
}

read_logs() {
    local el=/sys/kernel/security/tpm0/binary_bios_measurements f
    if cat "$el" >"$OUT/eventlog.bin" 2>/dev/null && [ -s "$OUT/eventlog.bin" ]; then
        result eventlog_bytes "$(wc -c <"$OUT/eventlog.bin")"
        result eventlog_sha256 "$(sha256sum "$OUT/eventlog.bin" | cut -c1-64)"
    else
        rm -f "$OUT/eventlog.bin"
        fail "no firmware event log at $el"
    fi
    for f in /sys/kernel/security/ima/binary_runtime_measurements \
        /sys/kernel/security/integrity/ima/binary_runtime_measurements; do
        if [ -r "$f" ] && cat "$f" >"$OUT/ima.bin" 2>/dev/null; then
            result ima_bytes "$(wc -c <"$OUT/ima.bin")"
            return
        fi
    done
    rm -f "$OUT/ima.bin"
    result ima_bytes none
}

check_getrandom() {
    local tag=$1 tcti=$2 size
    if t2 "$tag" getrandom -T "$tcti" -o "/tmp/$tag.bin" 32; then
        size=$(wc -c <"/tmp/$tag.bin")
        if [ "$size" -ne 32 ]; then
            fail "tpm2 getrandom through $tcti returned $size bytes, not 32"
        elif [ "$(hex_of "/tmp/$tag.bin")" = "$(printf '%064d' 0)" ]; then
            fail "tpm2 getrandom through $tcti returned 32 zero bytes"
        else
            result "$tag" ok
            return
        fi
    else
        fail "tpm2 getrandom through $tcti failed"
    fi
    result "$tag" failed
}

# tpm2 pcrread through the resource manager must agree with what the kernel shows in sysfs.
check_pcrread() {
    if ! t2 pcrread pcrread -T "$TCTI_RM"; then
        fail "tpm2 pcrread failed"
        result pcrread failed
        return
    fi
    awk '/^  [a-z0-9_]+:$/ { bank = $1; sub(":", "", bank); next }
         /^ +[0-9]+ *: *0x[0-9A-Fa-f]+$/ { v = $NF; sub("0x", "", v); n = $1; sub(":", "", n);
                                          print bank, n, tolower(v) }' /tmp/pcrread.out |
        sort >/tmp/pcrread.txt
    sort "$OUT/pcrs.txt" >/tmp/sysfs.txt
    if [ -s /tmp/pcrread.txt ] && cmp -s /tmp/pcrread.txt /tmp/sysfs.txt; then
        result pcrread match-sysfs
    else
        fail "tpm2 pcrread ($(wc -l </tmp/pcrread.txt) values) differs from sysfs"
        diff /tmp/sysfs.txt /tmp/pcrread.txt | head -n 10 | sed 's/^/VTPM-LOG   /'
        result pcrread differs
    fi
}

check_getcap() {
    local mf
    if t2 getcap getcap -T "$TCTI_RM" properties-fixed; then
        mf=$(awk '/^TPM2_PT_MANUFACTURER:/ { f = 1 } f && /value:/ { gsub("\"", "", $2); print $2; exit }' \
            /tmp/getcap.out)
        result manufacturer "${mf:-unknown}"
    else
        fail "tpm2 getcap properties-fixed failed"
    fi
}

# unseal <tag> <context> <auth>: unseal and compare with the saved secret.
unseal_cmp() {
    if t2 "$1" unseal -T "$TCTI_RM" -c "$2" -p "$3" -o "/tmp/$1.bin" &&
        cmp -s "/tmp/$1.bin" "$SEAL/secret"; then
        result "$1" ok
        return 0
    fi
    result "$1" failed
    return 1
}

load_obj() {
    t2 "load_$1" load -T "$TCTI_RM" -C /tmp/primary.ctx -u "$SEAL/$1.pub" -r "$SEAL/$1.priv" \
        -c "/tmp/$1.ctx"
}

# A fresh secret sealed under the owner's ECC primary key twice: behind a password, and behind a
# policy over PCRs 0-7 (re-measured to the same values after a reboot). Then a third object
# bound to PCR 23 must stop unsealing once PCR 23 is extended.
seal_new() {
    result seal new
    rm -rf "$SEAL"
    mkdir -p "$SEAL"
    head -c 32 /dev/urandom >"$SEAL/secret"
    head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$SEAL/auth"
    echo "$BOOT" >"$SEAL/boot"
    t2 create_pw create -T "$TCTI_RM" -C /tmp/primary.ctx -i "$SEAL/secret" \
        -p "file:$SEAL/auth" -u "$SEAL/pw.pub" -r "$SEAL/pw.priv" &&
        load_obj pw && unseal_cmp unseal_password /tmp/pw.ctx "file:$SEAL/auth" ||
        fail "sealing behind a password and unsealing in the same boot failed"
    t2 policy_pcr createpolicy -T "$TCTI_RM" --policy-pcr -l "$PCR_POLICY" -L /tmp/pcr.policy &&
        t2 create_pcr create -T "$TCTI_RM" -C /tmp/primary.ctx -i "$SEAL/secret" \
            -L /tmp/pcr.policy -a 'fixedtpm|fixedparent' -u "$SEAL/pcr.pub" -r "$SEAL/pcr.priv" &&
        load_obj pcr && unseal_cmp unseal_pcr_policy /tmp/pcr.ctx "pcr:$PCR_POLICY" ||
        fail "sealing to $PCR_POLICY and unsealing in the same boot failed"
    if t2 policy_23 createpolicy -T "$TCTI_RM" --policy-pcr -l sha256:23 -L /tmp/p23.policy &&
        t2 create_23 create -T "$TCTI_RM" -C /tmp/primary.ctx -i "$SEAL/secret" \
            -L /tmp/p23.policy -a 'fixedtpm|fixedparent' -u /tmp/p23.pub -r /tmp/p23.priv &&
        t2 load_23 load -T "$TCTI_RM" -C /tmp/primary.ctx -u /tmp/p23.pub -r /tmp/p23.priv \
            -c /tmp/p23.ctx &&
        unseal_cmp unseal_pcr23 /tmp/p23.ctx pcr:sha256:23 &&
        t2 extend_23 pcrextend -T "$TCTI_RM" \
            "23:sha256=$(printf '%064d' 0 | tr 0 5)"; then
        # Expected to fail, so not through t2: its stderr is not news.
        if timeout "$TOOL_TIMEOUT" tpm2 unseal -T "$TCTI_RM" -c /tmp/p23.ctx -p pcr:sha256:23 \
            -o /tmp/unseal_23_moved.bin >/dev/null 2>/tmp/unseal_23_moved.err; then
            result policy_after_extend unsealed
            fail "an object sealed to PCR 23 still unsealed after PCR 23 was extended"
        else
            rc=$(grep -o '0x[0-9a-fA-F]*' /tmp/unseal_23_moved.err | tail -n 1)
            result policy_after_extend "refused(${rc:-no code})"
        fi
    else
        fail "sealing to sha256:23, unsealing, then extending PCR 23 failed"
    fi
}

seal_saved() {
    result seal "saved-in-boot-$(cat "$SEAL/boot" 2>/dev/null)"
    load_obj pw && unseal_cmp saved_unseal_password /tmp/pw.ctx "file:$SEAL/auth" ||
        fail "unsealing the password object saved by an earlier boot failed"
    load_obj pcr && unseal_cmp saved_unseal_pcr_policy /tmp/pcr.ctx "pcr:$PCR_POLICY" ||
        fail "unsealing the $PCR_POLICY object saved by an earlier boot failed"
}

check_seal() {
    # The owner's primary key is derived from the owner seed and this template, so every boot
    # gets the same key back and can load what an earlier boot sealed.
    if ! t2 primary createprimary -T "$TCTI_RM" -C o -G ecc -c /tmp/primary.ctx; then
        fail "tpm2 createprimary (owner, ECC) failed"
        result seal failed
        return
    fi
    if [ -s "$SEAL/secret" ] && [ -s "$SEAL/pw.priv" ] && [ -s "$SEAL/pcr.priv" ]; then
        seal_saved
    else
        seal_new
    fi
}

# The guest side of a live migration (see vtpm.test=migrate above).
MIG_NV=0x1500020
MIG_AUTH=migrated-owner-auth
check_migrate() {
    local before after line fails_before=$FAILS
    printf 'vTPM migrated!\n' >/tmp/nv.in
    t2 mig_extend pcrextend -T "$TCTI_RM" "16:sha256=$(printf '%064d' 0 | tr 0 7)" ||
        fail "PCR_Extend before the migration failed"
    t2 mig_pcr_before pcrread -T "$TCTI_RM" sha256:16 || fail "PCR_Read before failed"
    before=$(grep -o '0x[0-9A-Fa-f]*' /tmp/mig_pcr_before.out | tail -n 1)
    t2 mig_nvdefine nvdefine -T "$TCTI_RM" "$MIG_NV" -C o -s 15 -a 'ownerread|ownerwrite' &&
        t2 mig_nvwrite nvwrite -T "$TCTI_RM" "$MIG_NV" -C o -i /tmp/nv.in &&
        t2 mig_auth changeauth -T "$TCTI_RM" -c owner "$MIG_AUTH" ||
        fail "defining and writing the NV index, or setting the owner auth, failed"
    echo "VTPM-MIGRATE-READY pcr16=$before"
    # The host migrates the VM now, then types a line on the console of the new QEMU.
    read -r line
    echo "VTPM-MIGRATE-RESUMED $line"
    t2 mig_pcr_after pcrread -T "$TCTI_RM" sha256:16 || fail "PCR_Read after failed"
    after=$(grep -o '0x[0-9A-Fa-f]*' /tmp/mig_pcr_after.out | tail -n 1)
    result pcr16_before "$before"
    result pcr16_after "$after"
    [ -n "$before" ] && [ "$before" = "$after" ] ||
        fail "PCR 16 changed across the migration: $before -> $after"
    if t2 mig_nvread nvread -T "$TCTI_RM" "$MIG_NV" -C o -P "$MIG_AUTH" -o /tmp/nv.out &&
        cmp -s /tmp/nv.in /tmp/nv.out; then
        result nv_after ok
    else
        fail "the NV index does not read back with the owner auth after the migration"
    fi
    # The owner authorization moved too: it is needed (and accepted) to change it back.
    t2 mig_auth_back changeauth -T "$TCTI_RM" -c owner -p "$MIG_AUTH" ||
        fail "the owner authorization set before the migration is not accepted after it"
    check_getrandom getrandom_after_migration "$TCTI_RAW"
    if [ "$FAILS" = "$fails_before" ]; then
        echo "VTPM-MIGRATE-PASS"
    else
        echo "VTPM-MIGRATE-FAIL ${FAILS#"$fails_before"}"
    fi
}

finish() {
    local status=PASS
    [ -n "$FAILS" ] && status=FAIL
    echo "status=$status" >>"$OUT/results"
    if [ -n "$DISK" ]; then
        echo "$BOOT" >/data/boot-count
        if ! tar -cf "$DISK" -C /data . 2>/tmp/tar.err || ! sync; then
            fail "cannot write the data disk: $(head -n 1 /tmp/tar.err)"
        fi
    fi
    if [ -n "$FAILS" ]; then
        echo "VTPM-FAIL boot=$BOOT ${FAILS#; }"
    else
        echo "VTPM-PASS boot=$BOOT"
    fi
    if [ "$REBOOT" = 1 ] && [ "$BOOT" = 1 ] && [ -z "$FAILS" ]; then
        echo "VTPM-REBOOT boot=$BOOT"
        reboot -f
    elif [ "$HALT" = 1 ]; then
        echo "VTPM-IDLE boot=$BOOT"
    else
        poweroff -f
    fi
    while :; do
        sleep 60
    done
}

setup
if [ "$TEST" = migrate ]; then
    BOOT=1 # no data disk: results stay on the console
    echo "VTPM-BOOT n=$BOOT test=$TEST reboot=$REBOOT disk=none"
else
    open_disk
fi
check_device
read_logs
read_pcrs
check_getrandom getrandom_rm "$TCTI_RM"
check_getrandom getrandom_raw "$TCTI_RAW"
check_pcrread
check_getcap
case $TEST in
basic) ;;
seal) check_seal ;;
migrate) check_migrate ;;
*) fail "unknown vtpm.test=$TEST" ;;
esac
finish
