#!/bin/sh
# make demo: the cloud's story end to end, on a temporary data dir (SQLite registry):
#   1. an operator creates a UEFI image whose VMs must have a vTPM (TpmMandatory),
#   2. a VM made from it gets its own vTPM (a new chip, one encrypted file bound to the VM),
#   3. the VM boots (QEMU + OVMF + Linux) with vtpmd serving its vTPM; the guest reads its PCRs
#      and seals a secret with tpm2-tools through /dev/tpmrm0,
#   4. the VM is rebooted; the guest unseals the same secret,
#   5. a VM from a legacy image with TpmMandatory is refused, and nothing is created,
#   6. the VM is terminated: its vTPM's key and file are destroyed.
# Usage: demo/run.sh BUILD_DIR
set -eu

build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
ctl="$build/vtpmctl"
export VTPMCTL_VTPMD="$build/src/daemon/vtpmd"
W=$(mktemp -d /tmp/vtpm-demo.XXXXXX)
D="$W/data"
VM=""

say() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }
die() {
    printf '\ndemo: FAILED: %s\n' "$*" >&2
    [ -n "$VM" ] && [ -f "$D/vms/$VM/console.log" ] && tail -n 20 "$D/vms/$VM/console.log" >&2
    exit 1
}
cleanup() {
    if [ -n "$VM" ]; then
        "$ctl" --data-dir "$D" delete-vms --vm-ids "$VM" >/dev/null 2>&1 || true
    fi
    rm -rf "$W"
}
trap cleanup EXIT INT TERM

# Pretty-print selected JSON fields from vtpmctl's output.
show() { python3 -c "
import json, sys
doc = json.load(sys.stdin)
for path in sys.argv[1:]:
    v = doc
    for k in path.split('.'):
        v = v[int(k)] if k.isdigit() else v[k]
    print('   %-28s %s' % (path.split('.')[-1] + ':', json.dumps(v)))
" "$@"; }

# Wait until the console shows a line matching a pattern.
wait_console() {
    i=0
    while ! grep -q "$1" "$D/vms/$VM/console.log" 2>/dev/null; do
        grep -q "VTPM-FAIL" "$D/vms/$VM/console.log" 2>/dev/null &&
            die "the guest reported a failure: $(grep VTPM-FAIL "$D/vms/$VM/console.log")"
        i=$((i + 1))
        [ $i -lt "$2" ] || die "no '$1' on the guest console after $2 s"
        sleep 1
    done
}
# The serial console ends its lines with CR LF.
result() { grep "VTPM-RESULT boot=$1 $2=" "$D/vms/$VM/console.log" | tail -n 1 | tr -d '\r' | sed "s/.*$2=//"; }

say "Building the demo guest (a Debian kernel, an initramfs with tpm2-tools)"
guest=$("$here/tests/guest/build.sh") || die "building the guest failed"
KERNEL=$(echo "$guest" | sed -n 's/^VTPM_GUEST_KERNEL=//p')
INITRD=$(echo "$guest" | sed -n 's/^VTPM_GUEST_INITRD=//p')
# The guest keeps what it sealed on a small data disk (a tar it rewrites at each boot).
mkdir -p "$W/disk"
echo "vtpm-guest-data 1" >"$W/disk/disk-format"
tar -cf "$W/data.img" -C "$W/disk" . && truncate -s 16M "$W/data.img"
note "kernel: $KERNEL"

say "1. create-image: UEFI only, TpmMandatory"
out=$("$ctl" --data-dir "$D" create-image --image-name demo-uefi --boot-modes uefi \
    --tpm-mandatory --kernel "$KERNEL" --initrd "$INITRD" --file-location "$W/data.img" \
    --kernel-cmdline "console=ttyS0 panic=-1 vtpm.test=seal vtpm.halt=1") ||
    die "create-image failed"
echo "$out" | show Image.ImageId Image.BootModes Image.TpmMandatory
IMG=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Image"]["ImageId"])')

say "2. create-vms from it: the VM gets its own vTPM, manufactured as a new chip"
out=$("$ctl" --data-dir "$D" create-vms --image-id "$IMG") || die "create-vms failed"
echo "$out" | show Vms.0.VmId Vms.0.BootMode Vms.0.TpmEnabled Vms.0.State Vms.0.Vtpm.VtpmId
VM=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Vms"][0]["VmId"])')
f="$D/vtpm/$VM/tpm2-00.permall"
[ -f "$f" ] || die "no vTPM file at $f"
note "vTPM file: $f ($(stat -c %s "$f") bytes, mode $(stat -c %a "$f"), encrypted, bound to $VM)"

say "3. start-vms: QEMU + OVMF boot Linux with vtpmd serving the vTPM (software emulation, ~30 s)"
"$ctl" --data-dir "$D" start-vms --vm-ids "$VM" >/dev/null || die "start-vms failed"
wait_console "VTPM-PASS boot=1" 240
note "inside the guest: TPM $(result 1 tpm_version_major), driver $(result 1 driver), manufacturer $(result 1 manufacturer)"
note "PCRs read by the guest (sha256 bank, measured by the firmware):"
for i in 0 1 2 3 4 5 6 7; do
    note "  PCR[$i] = $(result 1 "pcr_sha256_$i")"
done
[ "$(result 1 seal)" = new ] || die "the guest did not seal a new secret"
note "sealed a new secret with the vTPM (tpm2-tools in the guest, through /dev/tpmrm0), behind a"
note "password and behind a policy on PCRs 0-7; unsealed both: $(result 1 unseal_password), $(result 1 unseal_pcr_policy)"

say "4. reboot-vms: the vTPM stays attached; the guest unseals the secret sealed before"
"$ctl" --data-dir "$D" reboot-vms --vm-ids "$VM" >/dev/null || die "reboot-vms failed"
wait_console "VTPM-PASS boot=2" 240
[ "$(result 2 seal)" = saved-in-boot-1 ] || die "the guest found no secret sealed before the reboot"
note "the guest found the objects sealed in boot 1 and unsealed the same secret:"
note "password $(result 2 saved_unseal_password), PCR policy $(result 2 saved_unseal_pcr_policy) (the firmware measured the same PCRs again)"
"$ctl" --data-dir "$D" stop-vms --vm-ids "$VM" >/dev/null || die "stop-vms failed"
note "stop-vms: the VM and its vtpmd stopped; the vTPM's state is committed"

say "5. a legacy image with TpmMandatory: VM creation is refused, nothing is created"
out=$("$ctl" --data-dir "$D" create-image --image-name demo-legacy --boot-modes legacy \
    --tpm-mandatory) || die "create-image (legacy) failed"
LIMG=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Image"]["ImageId"])')
before=$(ls "$D/vtpm" | wc -l)
if "$ctl" --data-dir "$D" create-vms --image-id "$LIMG" >/dev/null 2>"$W/err"; then
    die "a VM was created from a legacy image with TpmMandatory"
fi
python3 -c "
import json
e = json.load(open('$W/err'))['Errors'][0]
print('   refused: %s (%s): %s' % (e['Code'], e['Type'], e['Details']))"
[ "$(ls "$D/vtpm" | wc -l)" = "$before" ] || die "the refused creation left a vTPM behind"
note "no VM row, no vTPM file, no key was made"

say "6. delete-vms (terminate): the vTPM's key is destroyed and its file removed"
out=$("$ctl" --data-dir "$D" delete-vms --vm-ids "$VM") || die "delete-vms failed"
[ ! -e "$f" ] || die "the vTPM file survived termination"
"$ctl" --data-dir "$D" read-vms | python3 -c "
import json, sys
for vm in json.load(sys.stdin)['Vms']:
    if vm['VmId'] == '$VM':
        print('   %s: State %s, vTPM %s' % (vm['VmId'], vm['State'], json.dumps(vm.get('Vtpm'))))"
VM=""
say "demo: done"
