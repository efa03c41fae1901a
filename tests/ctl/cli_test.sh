#!/bin/sh
# vtpmctl's CLI tests: the built binary, a temporary data dir, a fake QEMU and a fake vtpmd
# (fake_qemu.py, fake_vtpmd.py) that behave like the real ones towards vtpmctl.
#   cli_test.sh TEST BUILD_DIR SOURCE_DIR
# Each TEST is one function below (rule1 .. rule8 are the association rules of the issue).
# Every check compares behaviour: JSON parsed and checked field by field (ctlcheck.py), exit
# statuses, the registry and the data dir before and after ("nothing changed").
set -eu
name=$1
build=$(cd "$2" && pwd)
src=$(cd "$3" && pwd)
here=$src/tests/ctl
VTPMCTL=$build/vtpmctl
T=$(mktemp -d /tmp/vtpmctl-test.XXXXXX)
D=$T/d
pass=0

export VTPMCTL_QEMU="$here/fake_qemu.py"
export VTPMCTL_VTPMD="$here/fake_vtpmd.py"
export FAKE_VTPM_CHECK="$build/tests/ctl/vtpm_check"
printf 'fake OVMF code' > "$T/OVMF_CODE.fd"
printf 'fake OVMF variables' > "$T/OVMF_VARS.fd"
export VTPMCTL_OVMF_CODE="$T/OVMF_CODE.fd"
export VTPMCTL_OVMF_VARS="$T/OVMF_VARS.fd"
unset VTPMCTL_FAULT FAKE_VTPMD_KEY_OUT FAKE_VTPMD_IGNORE_SHUTDOWN FAKE_VTPMD_FAIL \
    FAKE_VTPMD_STUBBORN FAKE_QEMU_IGNORE_POWERDOWN 2>/dev/null || true

# Kill only processes this test started: their command line names this test's folder.
cleanup() {
    for p in $(cat "$T"/pids 2>/dev/null) $(cat "$D"/vms/*/*.pid 2>/dev/null); do
        if { tr '\0' ' ' < "/proc/$p/cmdline"; } 2>/dev/null | grep -q "$T"; then
            kill -9 "$p" 2>/dev/null || true
        fi
    done
    chmod -R u+w "$T" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

fail() {
    echo "FAIL [$name]: $*"
    for f in out err; do
        [ -s "$T/$f" ] && { echo "--- $f:"; cat "$T/$f"; }
    done
    exit 1
}
ok() { pass=$((pass + 1)); }
check() { python3 "$here/ctlcheck.py" "$@"; }
get() { check get "$T/out" "$@"; }

# Run vtpmctl on the test's data dir; stdout to $T/out, stderr to $T/err; keeps a transcript.
ctl() {
    rc=0
    timeout -k 5 120 "$VTPMCTL" --data-dir "$D" "$@" > "$T/out" 2> "$T/err" || rc=$?
    cat "$T/out" "$T/err" >> "$T/transcript"
    return $rc
}
run_ok() {
    ctl "$@" || fail "vtpmctl $* exited $rc: $(cat "$T/err")"
    [ ! -s "$T/err" ] || fail "vtpmctl $* wrote to stderr"
    ok
}
# run_fail EXIT CODE TYPE TEXT ARGS...: refused with this error, nothing on stdout.
run_fail() {
    want=$1 code=$2 type=$3 text=$4
    shift 4
    if ctl "$@"; then fail "vtpmctl $* should have failed"; fi
    [ "$rc" -eq "$want" ] || fail "vtpmctl $* exited $rc, expected $want: $(cat "$T/err")"
    [ ! -s "$T/out" ] || fail "vtpmctl $* printed on stdout while failing"
    check error "$T/err" "$code" "$type" "$text" || fail "vtpmctl $*: wrong error"
    ok
}
snap() { check snapshot "$D" > "$T/snap.$1"; }
unchanged() {
    check snapshot "$D" > "$T/snap.now"
    cmp -s "$T/snap.$1" "$T/snap.now" || { diff -u "$T/snap.$1" "$T/snap.now"; fail "$2"; }
    ok
}
invariant() { check invariant "$D" "$@" || fail "invariant broken"; }

# mkimage NAME MODES [options]: sets IMG
mkimage() {
    n=$1 m=$2
    shift 2
    run_ok create-image --image-name "$n" --boot-modes "$m" "$@"
    check images "$T/out" > /dev/null || fail "create-image output"
    IMG=$(get 'd["Image"]["ImageId"]')
}
# mkvm IMAGE [options]: sets VM (the first VM's id)
mkvm() {
    img=$1
    shift
    run_ok create-vms --image-id "$img" "$@"
    check vms "$T/out" > /dev/null || fail "create-vms output"
    VM=$(get 'd["Vms"][0]["VmId"]')
}
vm_field() { run_ok read-vms --filter-vm-ids "$1"; get "d[\"Vms\"][0]$2"; }
vtpm_file() { echo "$D/vtpm/$1/tpm2-00.permall"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
pid_of() { cat "$D/vms/$1/$2.pid" 2>/dev/null || true; }
alive() { [ -n "$1" ] && [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status"; }
wait_gone() {
    i=0
    while alive "$1"; do
        i=$((i + 1))
        [ $i -lt 100 ] || return 1
        sleep 0.05
    done
}

# ---------------------------------------------------------------------------------------

t_help() {
    "$VTPMCTL" --help > "$T/out" || fail "--help exited non-zero"
    for c in create-image read-images delete-image create-vms read-vms start-vms stop-vms \
        reboot-vms delete-vms; do
        grep -q "^  $c " "$T/out" || fail "--help does not list $c"
        "$VTPMCTL" "$c" --help > "$T/c" || fail "$c --help exited non-zero"
        grep -q "^Usage: vtpmctl \[--data-dir DIR\] $c " "$T/c" || fail "$c --help: no usage"
        grep -q -- "--help" "$T/c" || fail "$c --help: no options"
        ok
    done
    grep -q "There is no command to detach, move, share, export or disable a vTPM" "$T/out" ||
        fail "--help does not say what does not exist"
    "$VTPMCTL" create-vms --help | grep -q -- "--tpm-enabled BOOL" || fail "create-vms help"
    "$VTPMCTL" create-image --help | grep -q -- "--tpm-mandatory " || fail "create-image help"
    "$VTPMCTL" start-vms --help | grep -q -- "--dry-run" || fail "start-vms help"
    "$VTPMCTL" --version | grep -q '^vtpmctl [0-9]' || fail "--version"
    # --help anywhere after the command wins, even with other options
    "$VTPMCTL" delete-vms --vm-ids i-00000000 --help | grep -q "^Usage: vtpmctl" ||
        fail "--help after options"
    ok
    run_fail 2 3001 InvalidParameter "no command given"
    run_fail 2 8000 OperationNotSupported "no such command" frobnicate
    run_fail 2 3001 InvalidParameter "unknown global option" --colour read-vms
    [ ! -e "$D" ] || fail "a refused command made the data dir"
    ok
}

t_json() {
    mkimage "json test" uefi,legacy
    [ "$(get 'd["Image"]["BootModes"]')" = '["uefi", "legacy"]' ] || fail "BootModes"
    [ "$(get 'd["Image"]["ImageName"]')" = "json test" ] || fail "ImageName"
    [ "$(get 'd["Image"]["TpmMandatory"]')" = false ] || fail "TpmMandatory"
    # every character that needs escaping survives the round trip
    mkimage 'q"uote\back' uefi --tpm-mandatory
    [ "$(get 'd["Image"]["ImageName"]')" = 'q"uote\back' ] || fail "escaped name"
    [ "$(get 'd["Image"]["TpmMandatory"]')" = true ] || fail "TpmMandatory true"
    MAND=$IMG
    touch "$T/vmlinuz" "$T/initrd.img"
    mkimage kernel-image uefi --kernel "$T/vmlinuz" --initrd "$T/initrd.img" \
        --kernel-cmdline 'console=ttyS0 panic=-1'
    [ "$(get 'd["Image"]["KernelFile"]')" = "$T/vmlinuz" ] || fail "KernelFile"
    [ "$(get 'd["Image"]["KernelCmdline"]')" = "console=ttyS0 panic=-1" ] || fail "cmdline"
    run_ok read-images
    [ "$(check images "$T/out")" = 3 ] || fail "read-images count"
    run_ok read-images --filter-tpm-mandatory true
    [ "$(check images "$T/out")" = 1 ] || fail "filter true"
    [ "$(get 'd["Images"][0]["ImageId"]')" = "$MAND" ] || fail "filter picks the image"
    run_ok read-images --filter-tpm-mandatory false
    [ "$(check images "$T/out")" = 2 ] || fail "filter false"
    run_ok read-images --filter-image-ids "$MAND,ami-00000000"
    [ "$(check images "$T/out")" = 1 ] || fail "filter ids"
    ok
    mkvm "$MAND" --count 3
    [ "$(check vms "$T/out")" = 3 ] || fail "create-vms --count 3"
    [ "$(get 'sorted(set(v["VmId"] for v in d["Vms"])).__len__()')" = 3 ] || fail "ids unique"
    [ "$(get '[v["TpmEnabled"] for v in d["Vms"]]')" = '[true, true, true]' ] || fail "tpm"
    [ "$(get '[v["State"] for v in d["Vms"]]')" = '["stopped", "stopped", "stopped"]' ] ||
        fail "created stopped"
    run_ok read-vms
    [ "$(check vms "$T/out")" = 3 ] || fail "read-vms"
    run_ok read-vms --filter-tpm-enabled false
    [ "$(check vms "$T/out")" = 0 ] || fail "read-vms filter"
    run_ok read-vms --filter-vm-states stopped --filter-image-ids "$MAND"
    [ "$(check vms "$T/out")" = 3 ] || fail "read-vms states filter"
    ok
}

t_rule1() {
    # Rule 1: boot modes and TpmMandatory are set at creation and never change.
    for m in uefi legacy uefi,legacy legacy,uefi; do
        mkimage "img-$m" "$m"
        want=$(echo "$m" | sed 's/legacy,uefi/uefi,legacy/')
        [ "$(get '",".join(d["Image"]["BootModes"])')" = "$want" ] || fail "BootModes $m"
    done
    mkimage fixed uefi --tpm-mandatory
    snap before
    for c in update-image modify-image set-image-tpm-mandatory; do
        run_fail 2 8000 OperationNotSupported "no such command" $c --image-id "$IMG" \
            --tpm-mandatory false
    done
    run_fail 2 3001 InvalidParameter "unknown option '--image-id'" create-image \
        --image-id "$IMG" --image-name x --boot-modes legacy
    unchanged before "a refused change changed something"
    # Even SQL written by hand cannot change an image: the registry itself refuses.
    if python3 -c "
import sqlite3,sys
db=sqlite3.connect('$D/registry.db')
db.execute(\"UPDATE images SET tpm_mandatory=0, boot_modes=3 WHERE image_id='$IMG'\")
db.commit()" 2> "$T/sqlerr"; then
        fail "the registry accepted an image update"
    fi
    grep -q "cannot change after its creation" "$T/sqlerr" || fail "trigger message"
    unchanged before "the refused SQL changed something"
    run_ok read-images --filter-image-ids "$IMG"
    [ "$(get 'd["Images"][0]["BootModes"]')" = '["uefi"]' ] || fail "BootModes changed"
    [ "$(get 'd["Images"][0]["TpmMandatory"]')" = true ] || fail "TpmMandatory changed"
    ok
}

t_rule2() {
    # Rule 2: TpmMandatory images give every VM a vTPM; otherwise only TpmEnabled=true does.
    mkimage mandatory uefi --tpm-mandatory
    M=$IMG
    mkimage optional uefi
    O=$IMG
    mkvm "$M"
    [ "$(get 'd["Vms"][0]["TpmEnabled"]')" = true ] || fail "mandatory: no vTPM"
    [ -f "$(vtpm_file "$VM")" ] || fail "mandatory: no vTPM file"
    mkvm "$M" --tpm-enabled true
    [ "$(get 'd["Vms"][0]["TpmEnabled"]')" = true ] || fail "mandatory + true"
    snap before
    run_fail 1 4100 InvalidParameterCombination "TpmMandatory" create-vms --image-id "$M" \
        --tpm-enabled false
    unchanged before "a refused create-vms changed something"
    ok
    mkvm "$O"
    [ "$(get 'd["Vms"][0]["TpmEnabled"]')" = false ] || fail "optional: vTPM by default"
    [ ! -e "$D/vtpm/$VM" ] || fail "optional: a vTPM folder without TpmEnabled"
    mkvm "$O" --tpm-enabled false
    [ "$(get 'd["Vms"][0]["TpmEnabled"]')" = false ] || fail "optional + false"
    mkvm "$O" --tpm-enabled true
    [ "$(get 'd["Vms"][0]["TpmEnabled"]')" = true ] || fail "optional + true"
    [ -f "$(vtpm_file "$VM")" ] || fail "optional + true: no vTPM file"
    run_ok read-vms --filter-tpm-enabled true
    [ "$(check vms "$T/out")" = 3 ] || fail "three VMs with a vTPM"
    invariant swept > /dev/null
    ok
}

t_rule3() {
    # Rule 3: a vTPM requires UEFI; otherwise nothing is created (no row, no file, no key).
    mkimage legacy-mandatory legacy --tpm-mandatory
    LM=$IMG
    mkimage dual-mandatory uefi,legacy --tpm-mandatory
    DM=$IMG
    mkimage dual uefi,legacy
    DU=$IMG
    mkimage uefi-mandatory uefi --tpm-mandatory
    UM=$IMG
    mkimage legacy legacy
    LE=$IMG
    snap before
    [ ! -e "$D/kek" ] || fail "a key exists before any vTPM"
    run_fail 1 4100 InvalidParameterCombination "requires UEFI" create-vms --image-id "$LM"
    run_fail 1 4100 InvalidParameterCombination "not UEFI-only" create-vms --image-id "$DM"
    run_fail 1 4100 InvalidParameterCombination "not UEFI-only" create-vms --image-id "$DM" \
        --boot-mode uefi --count 3
    run_fail 1 4100 InvalidParameterCombination "not UEFI-only" create-vms --image-id "$DU" \
        --tpm-enabled true
    run_fail 1 4100 InvalidParameterCombination "requires UEFI" create-vms --image-id "$DU" \
        --boot-mode legacy --tpm-enabled true
    run_fail 1 4100 InvalidParameterCombination "asked with --boot-mode legacy" create-vms --image-id "$UM" \
        --boot-mode legacy
    run_fail 1 4100 InvalidParameterCombination "does not boot in uefi" create-vms \
        --image-id "$LE" --boot-mode uefi
    unchanged before "a refused VM left something"
    [ ! -e "$D/kek" ] || fail "a refused VM made a key"
    [ -z "$(ls "$D/vtpm" 2>/dev/null)" ] || fail "a refused VM left a vTPM folder"
    ok
    # What the rule allows: legacy VMs without a vTPM, UEFI VMs with one.
    mkvm "$LE"
    [ "$(get 'd["Vms"][0]["BootMode"]')" = legacy ] || fail "legacy VM"
    mkvm "$DU" --boot-mode legacy --tpm-enabled false
    [ "$(get 'd["Vms"][0]["BootMode"]')" = legacy ] || fail "legacy VM of a dual image"
    mkvm "$DU"
    [ "$(get 'd["Vms"][0]["BootMode"]')" = uefi ] || fail "dual image defaults to uefi"
    mkvm "$UM"
    [ "$(get 'd["Vms"][0]["BootMode"]')" = uefi ] || fail "uefi VM with vTPM"
    [ -f "$D/kek" ] || fail "no key after the first vTPM"
    [ "$(stat -c %a "$D/kek")" = 600 ] || fail "key mode"
    invariant swept > /dev/null
    ok
}

# Start a VM and check both fakes run with the vTPM wired in.
start_and_check() {
    run_ok start-vms --vm-ids "$1"
    [ "$(get 'd["Vms"][0]["CurrentState"]')" = running ] || fail "start: CurrentState"
    alive "$(pid_of "$1" qemu)" || fail "QEMU is not running"
    alive "$(pid_of "$1" vtpmd)" || fail "vtpmd is not running"
    [ "$(vm_field "$1" '["State"]')" = running ] || fail "read-vms: not running"
}

t_rule4() {
    # Rule 4: created with the VM (a new chip), attached through stop, start, reboot, intact.
    mkimage deb uefi --tpm-mandatory
    mkvm "$IMG"
    A=$VM
    mkvm "$IMG"
    B=$VM
    VTPM_ID=$(vm_field "$A" '["Vtpm"]["VtpmId"]')
    H0=$(sha "$(vtpm_file "$A")")
    # Manufactured: each vTPM is a new chip (different state), and it loads in the engine.
    sa=$(printf '%s' "x" | "$FAKE_VTPM_CHECK" "$(vtpm_file "$A")" "$A" || true)
    case $sa in "refused: the key is"*) ;; *) fail "vtpm_check took a wrong key: $sa" ;; esac
    [ "$(sha "$(vtpm_file "$A")")" != "$(sha "$(vtpm_file "$B")")" ] || fail "same files"
    start_and_check "$A"
    grep -q "^boot tpm=yes firmware=ovmf$" "$D/vms/$A/console.log" || fail "not booted with TPM"
    S1=$(sed -n 's/^opened //p' "$D/vms/$A/vtpmd.log" | tail -1)
    [ -n "$S1" ] || fail "vtpmd did not open the vTPM"
    start_and_check "$B"
    S2=$(sed -n 's/^opened //p' "$D/vms/$B/vtpmd.log" | tail -1)
    [ "$S1" != "$S2" ] || fail "two VMs have the same vTPM state: not fresh seeds"
    ok
    # reboot: the same vtpmd keeps serving; the guest resets (QEMU sends INIT)
    VP=$(pid_of "$A" vtpmd)
    run_ok reboot-vms --vm-ids "$A"
    [ "$(get 'list(d)')" = '["ResponseContext"]' ] || fail "reboot output"
    grep -q "^reset$" "$D/vms/$A/console.log" || fail "no reset"
    [ "$(grep -c '^boot tpm=yes' "$D/vms/$A/console.log")" = 2 ] || fail "no second boot"
    [ "$(pid_of "$A" vtpmd)" = "$VP" ] || fail "vtpmd changed on reboot"
    [ "$(grep -c '^init$' "$D/vms/$A/vtpmd.log")" = 2 ] || fail "vtpmd saw no reset"
    ok
    # stop: the guest powers off, QEMU exits, vtpmd is shut down; start again: same vTPM
    run_ok stop-vms --vm-ids "$A"
    [ "$(get 'd["Vms"][0]["PreviousState"]')" = running ] || fail "stop: PreviousState"
    [ "$(get 'd["Vms"][0]["CurrentState"]')" = stopped ] || fail "stop: CurrentState"
    grep -q "^powerdown$" "$D/vms/$A/console.log" || fail "no system_powerdown"
    wait_gone "$VP" || fail "vtpmd still runs after stop"
    grep -qE "^(shutdown|terminate)$" "$D/vms/$A/vtpmd.log" || fail "vtpmd not shut down"
    [ "$(vm_field "$A" '["State"]')" = stopped ] || fail "read-vms after stop"
    [ "$(sha "$(vtpm_file "$A")")" = "$H0" ] || fail "the vTPM file changed while stopped"
    start_and_check "$A"
    S3=$(sed -n 's/^opened //p' "$D/vms/$A/vtpmd.log" | tail -1)
    [ "$S3" = "$S1" ] || fail "the vTPM content changed across stop/start"
    [ "$(vm_field "$A" '["Vtpm"]["VtpmId"]')" = "$VTPM_ID" ] || fail "VtpmId changed"
    [ "$(vm_field "$A" '["Vtpm"]["State"]')" = attached ] || fail "not attached"
    # start of a running VM and stop of a stopped VM change nothing
    run_ok start-vms --vm-ids "$A"
    [ "$(get 'd["Vms"][0]["PreviousState"]')" = running ] || fail "start running"
    run_ok stop-vms --vm-ids "$A,$B"
    run_ok stop-vms --vm-ids "$A"
    [ "$(get 'd["Vms"][0]["PreviousState"]')" = stopped ] || fail "stop stopped"
    [ "$(sha "$(vtpm_file "$A")")" = "$H0" ] || fail "the vTPM file changed"
    invariant swept > /dev/null
    ok
}

t_rule5() {
    # Rule 5: bound to its VM; nothing shares, moves or attaches it; a copied file fails.
    mkimage deb uefi --tpm-mandatory
    mkvm "$IMG"
    A=$VM
    mkvm "$IMG"
    B=$VM
    snap before
    for c in attach-vtpm detach-vtpm move-vtpm share-vtpm copy-vtpm transfer-vtpm \
        attach-vtpms update-vm; do
        run_fail 2 8000 OperationNotSupported "no such command" $c --vm-ids "$A"
    done
    run_fail 2 3001 InvalidParameter "unknown option '--vtpm-id'" create-vms \
        --image-id "$IMG" --vtpm-id "$(vm_field "$A" '["Vtpm"]["VtpmId"]')"
    run_fail 2 3001 InvalidParameter "unknown option '--vm-id'" start-vms --vm-ids "$B" \
        --vm-id "$A"
    unchanged before "a refused command changed something"
    ok
    # A's file copied by hand to B's place: B's vTPM does not open (the file is A's, sealed
    # under A's data key and bound to A).
    cp "$(vtpm_file "$A")" "$(vtpm_file "$B")"
    run_fail 3 2005 LaunchError "another VM's vTPM" start-vms --vm-ids "$B"
    [ "$(vm_field "$B" '["State"]')" = stopped ] || fail "B started with A's vTPM"
    [ ! -e "$D/vms/$B/console.log" ] || fail "QEMU ran for B"
    ! alive "$(pid_of "$B" vtpmd)" || fail "a vtpmd was left running for B"
    # And A's wrapped key moved to B's row does not unwrap for B either.
    python3 -c "
import sqlite3
db=sqlite3.connect('$D/registry.db')
k=db.execute(\"SELECT wrapped_key FROM vtpms WHERE vm_id='$A'\").fetchone()[0]
try:
    db.execute(\"UPDATE vtpms SET wrapped_key=? WHERE vm_id='$B'\", (k,)); db.commit()
    raise SystemExit('the registry accepted a moved key')
except sqlite3.IntegrityError as e:
    assert 'only be destroyed' in str(e), e
" || fail "a key could be moved to another VM"
    # A still starts with its own vTPM.
    start_and_check "$A"
    run_ok stop-vms --vm-ids "$A" --force-stop
    ok
}

t_rule6() {
    # Rule 6: nothing reads it from outside; the registry holds only what serving needs.
    mkimage deb uefi --tpm-mandatory
    mkvm "$IMG"
    for c in export-vtpm read-vtpm read-vtpms get-vtpm dump-vtpm decrypt-vtpm backup-vtpm; do
        run_fail 2 8000 OperationNotSupported "no such command" $c --vm-ids "$VM"
    done
    "$VTPMCTL" --help | grep -iE "^  [a-z-]+ .*(export|decrypt|dump)" &&
        fail "--help lists a command that reads vTPM content"
    cols=$(python3 -c "
import sqlite3
db=sqlite3.connect('file:$D/registry.db?mode=ro', uri=True)
print(' '.join(r[1] for r in db.execute('PRAGMA table_info(vtpms)')))")
    [ "$cols" = "vtpm_id vm_id wrapped_key kek_id path created_at destroyed_at" ] ||
        fail "the registry's vTPM record holds more than serving needs: $cols"
    # no output of any command carries file content: read-vms' Vtpm object is metadata only
    run_ok read-vms
    check vms "$T/out" > /dev/null || fail "read-vms fields"
    ok
}

t_rule7() {
    # Rule 7: no command or flag turns a vTPM off or removes it while the VM exists.
    mkimage optional uefi
    mkvm "$IMG" --tpm-enabled true
    snap before
    for c in update-vm update-vms disable-vtpm remove-vtpm modify-vm-attribute; do
        run_fail 2 8000 OperationNotSupported "no such command" $c --vm-ids "$VM" \
            --tpm-enabled false
    done
    run_fail 2 3001 InvalidParameter "unknown option '--tpm-enabled'" stop-vms \
        --vm-ids "$VM" --tpm-enabled false
    run_fail 2 3001 InvalidParameter "unknown option '--tpm-enabled'" start-vms \
        --vm-ids "$VM" --tpm-enabled false
    run_fail 2 3001 InvalidParameter "unknown option '--no-tpm'" start-vms --vm-ids "$VM" \
        --no-tpm
    run_fail 2 3001 InvalidParameter "unknown option '--boot-mode'" start-vms --vm-ids "$VM" \
        --boot-mode legacy
    unchanged before "a refused command changed something"
    ok
    # Every start plan of the VM has its vTPM.
    run_ok start-vms --vm-ids "$VM" --dry-run
    [ "$(get '[c["Program"] for c in d["Vms"][0]["Commands"]]')" = '["vtpmd", "qemu"]' ] ||
        fail "the plan has no vtpmd"
    get '" ".join(d["Vms"][0]["Commands"][1]["Argv"])' | grep -q -- "-tpmdev emulator" ||
        fail "the QEMU plan has no TPM"
    # A VM whose vTPM file was removed by hand does not start without it.
    rm "$(vtpm_file "$VM")"
    run_fail 3 2004 VtpmError "never starts without its vTPM" start-vms --vm-ids "$VM"
    [ ! -e "$D/vms/$VM/console.log" ] || fail "QEMU ran without the vTPM"
    run_fail 3 2004 VtpmError "never starts without its vTPM" start-vms --vm-ids "$VM" --dry-run
    [ "$(vm_field "$VM" '["TpmEnabled"]')" = true ] || fail "TpmEnabled changed"
    ok
}

t_rule8() {
    # Rule 8: terminating destroys the key and the file; the record of the vTPM stays.
    mkimage deb uefi --tpm-mandatory
    mkvm "$IMG" --count 2
    A=$(get 'd["Vms"][0]["VmId"]')
    B=$(get 'd["Vms"][1]["VmId"]')
    python3 -c "
import sqlite3
db=sqlite3.connect('file:$D/registry.db?mode=ro', uri=True)
for (k,) in db.execute('SELECT wrapped_key FROM vtpms'): print(k.hex())" > "$T/wrapped"
    [ "$(wc -l < "$T/wrapped")" = 2 ] || fail "two wrapped keys"
    start_and_check "$A"
    QP=$(pid_of "$A" qemu)
    VP=$(pid_of "$A" vtpmd)
    run_ok delete-vms --vm-ids "$A,$B"
    [ "$(get '[v["CurrentState"] for v in d["Vms"]]')" = '["terminated", "terminated"]' ] ||
        fail "delete-vms output"
    wait_gone "$QP" || fail "QEMU survived delete"
    wait_gone "$VP" || fail "vtpmd survived delete"
    [ ! -e "$D/vtpm/$A" ] && [ ! -e "$D/vtpm/$B" ] || fail "vTPM files survived"
    [ ! -e "$D/vms/$A" ] || fail "run folder survived"
    run_ok read-vms --filter-vm-ids "$A,$B"
    check vms "$T/out" > /dev/null || fail "read-vms of terminated VMs"
    [ "$(get '[v["State"] for v in d["Vms"]]')" = '["terminated", "terminated"]' ] ||
        fail "not terminated"
    [ "$(get '[v["Vtpm"]["State"] for v in d["Vms"]]')" = '["destroyed", "destroyed"]' ] ||
        fail "not destroyed"
    [ "$(get 'all("DestructionDate" in v["Vtpm"] for v in d["Vms"])')" = true ] ||
        fail "no DestructionDate"
    python3 -c "
import sqlite3
db=sqlite3.connect('file:$D/registry.db?mode=ro', uri=True)
rows=db.execute('SELECT wrapped_key, kek_id, destroyed_at FROM vtpms').fetchall()
assert len(rows)==2 and all(r[0] is None and r[1] is None and r[2] for r in rows), rows" ||
        fail "keys not destroyed in the registry"
    # crypto-shredding: the wrapped keys' bytes are gone from the registry file itself
    check leak "$T/wrapped" "$D" > /dev/null || fail "a destroyed wrapped key is still on disk"
    invariant swept > /dev/null
    ok
    # a terminated VM is final; deleting it again changes nothing
    snap before
    run_fail 1 6000 InvalidState "terminated" start-vms --vm-ids "$A"
    run_fail 1 6000 InvalidState "terminated" stop-vms --vm-ids "$A"
    run_fail 1 6000 InvalidState "terminated" reboot-vms --vm-ids "$B"
    run_ok delete-vms --vm-ids "$A"
    [ "$(get 'd["Vms"][0]["PreviousState"]')" = terminated ] || fail "delete again"
    unchanged before "acting on a terminated VM changed something"
    # its image can go now
    run_ok delete-image --image-id "$IMG"
    run_ok read-images
    [ "$(check images "$T/out")" = 0 ] || fail "image not deleted"
    ok
}

t_errors() {
    mkimage deb uefi --tpm-mandatory
    M=$IMG
    mkimage plain legacy
    mkvm "$M"
    snap before
    E2=InvalidParameter V=InvalidParameterValue
    # malformed command lines
    run_fail 2 7000 MissingParameter "--image-name is required" create-image --boot-modes uefi
    run_fail 2 7000 MissingParameter "--boot-modes is required" create-image --image-name x
    run_fail 2 4000 $V "empty value" create-image --image-name x --boot-modes ""
    run_fail 2 4000 $V "not a boot mode" create-image --image-name x --boot-modes bios
    run_fail 2 4000 $V "listed twice" create-image --image-name x --boot-modes uefi,uefi
    run_fail 2 4000 $V "not a list" create-image --image-name x --boot-modes uefi,
    run_fail 2 4000 $V "not a list" create-image --image-name x --boot-modes ,uefi
    run_fail 2 3001 $E2 "takes no value" create-image --image-name x --boot-modes uefi \
        --tpm-mandatory=yes
    run_fail 2 3001 $E2 "given twice" create-image --image-name x --image-name y \
        --boot-modes uefi
    run_fail 2 3001 $E2 "needs a value" create-image --boot-modes uefi --image-name
    run_fail 2 3001 $E2 "unexpected argument" create-image extra --image-name x
    run_fail 2 4000 $V "1 to 128 characters" create-image --boot-modes uefi \
        --image-name "$(printf '%0129d' 0)"
    run_fail 2 4000 $V "printable" create-image --boot-modes uefi --image-name "$(printf 'a\tb')"
    run_fail 2 4000 $V "not an absolute path" create-image --image-name x --boot-modes uefi \
        --kernel vmlinuz
    run_fail 2 4000 $V "not an existing regular file" create-image --image-name x \
        --boot-modes uefi --kernel /nonexistent/vmlinuz
    run_fail 2 7000 MissingParameter "need --kernel" create-image --image-name x \
        --boot-modes uefi --initrd /etc/hostname
    run_fail 2 7000 MissingParameter "--image-id is required" create-vms
    run_fail 2 4000 $V "not an id of the form" create-vms --image-id ami-XYZ
    run_fail 2 4000 $V "not an id of the form" create-vms --image-id ami-0123abcd0
    run_fail 2 4000 $V "from 1 to 50" create-vms --image-id "$M" --count 0
    run_fail 2 4000 $V "from 1 to 50" create-vms --image-id "$M" --count 51
    run_fail 2 4000 $V "from 1 to 50" create-vms --image-id "$M" --count -1
    run_fail 2 4000 $V "from 1 to 50" create-vms --image-id "$M" --count 2x
    run_fail 2 4000 $V "not a boolean" create-vms --image-id "$M" --tpm-enabled yes
    run_fail 2 4000 $V "not a boot mode" create-vms --image-id "$M" --boot-mode efi
    run_fail 2 4000 $V "empty value" create-vms --image-id= 
    run_fail 2 4000 $V "not a boolean" read-images --filter-tpm-mandatory 1
    run_fail 2 4000 $V "not a boolean" read-vms --filter-tpm-enabled TRUE
    run_fail 2 4000 $V "not a state" read-vms --filter-vm-states booting
    run_fail 2 4000 $V "from 0 to 3600" stop-vms --vm-ids "$VM" --timeout 9999
    for c in start-vms stop-vms reboot-vms delete-vms; do
        run_fail 2 7000 MissingParameter "--vm-ids is required" $c
        run_fail 2 4000 $V "not an id of the form" $c --vm-ids vm-1
        run_fail 2 4000 $V "listed twice" $c --vm-ids "$VM,$VM"
        run_fail 2 4000 $V "comma-separated" $c --vm-ids "$VM,"
        # unknown ids: nothing happens to the known ones listed with them
        run_fail 1 5000 InvalidResource "i-00000000 does not exist" $c --vm-ids "$VM,i-00000000"
    done
    run_fail 2 7000 MissingParameter "--image-id is required" delete-image
    run_fail 1 5000 InvalidResource "does not exist" delete-image --image-id ami-00000000
    run_fail 1 5000 InvalidResource "does not exist" create-vms --image-id ami-00000000
    # an image deleted while VMs use it
    run_fail 1 1000 DependencyProblem "used by 1 VM ($VM)" delete-image --image-id "$M"
    # reboot of a VM that is not running
    run_fail 1 6000 InvalidState "only a running VM can be rebooted" reboot-vms --vm-ids "$VM"
    unchanged before "a refused command changed something"
    ok
    # a data dir that is a file, and an unusable --data-dir
    printf x > "$T/file"
    rc=0
    "$VTPMCTL" --data-dir "$T/file" create-image --image-name x --boot-modes uefi \
        > "$T/out" 2> "$T/err" || rc=$?
    [ $rc = 3 ] || fail "data dir is a file: exit $rc"
    check error "$T/err" 2001 DataDirectoryError "not a directory" || fail "data dir is a file"
    rc=0
    "$VTPMCTL" --data-dir "$T/file/sub" create-image --image-name x --boot-modes uefi \
        > "$T/out" 2> "$T/err" || rc=$?
    [ $rc = 3 ] || fail "data dir under a file: exit $rc"
    check error "$T/err" 2001 DataDirectoryError "cannot make the data dir" || fail "under a file"
    ok
    # a host key replaced by another one: refused, nothing changed
    cp "$D/kek" "$T/kek.saved"
    head -c 32 /dev/urandom > "$D/kek"
    run_fail 3 2003 KeyError "is not the key that wrapped" create-vms --image-id "$M"
    run_fail 3 2003 KeyError "is not the key that wrapped" start-vms --vm-ids "$VM"
    chmod 644 "$D/kek"
    run_fail 3 2003 KeyError "mode 0644" start-vms --vm-ids "$VM" --dry-run
    rm "$D/kek"
    run_fail 3 2003 KeyError "cannot open the host key" create-vms --image-id "$M"
    [ ! -e "$D/kek" ] || fail "a new key was made for a registry that wraps keys"
    cp "$T/kek.saved" "$D/kek"
    chmod 600 "$D/kek"
    unchanged before "a key refusal changed something"
    ok
    # failures in the middle of create-vms undo everything: files made, rows inserted
    VTPMCTL_FAULT=fail:create-vms:store@3 run_fail 3 2004 VtpmError "injected" create-vms \
        --image-id "$M" --count 3
    VTPMCTL_FAULT=fail:create-vms:commit run_fail 3 2002 RegistryError "nothing was created" \
        create-vms --image-id "$M" --count 2
    unchanged before "a failed create-vms left something"
    # a relative --data-dir is made absolute (QEMU and vtpmd run from / in the background)
    (cd "$T" && "$VTPMCTL" --data-dir d start-vms --vm-ids "$VM" --dry-run > "$T/out") ||
        fail "relative data dir"
    get '" ".join(d["Vms"][0]["Commands"][0]["Argv"])' | grep -q "dir=$D/vtpm/$VM," ||
        fail "relative data dir not made absolute"
    # a host key left half-made by a killed vtpmctl is swept (it was never used)
    head -c 32 /dev/urandom > "$D/kek.tmp.99999"
    run_ok create-image --image-name x --boot-modes uefi
    [ ! -e "$D/kek.tmp.99999" ] || fail "a host key temporary file was left"
    ok
}

t_corrupt_registry() {
    mkimage deb uefi --tpm-mandatory
    mkvm "$IMG"
    cp "$D/registry.db" "$T/good.db"
    head -c 65536 /dev/urandom > "$D/registry.db"
    H=$(sha "$D/registry.db")
    snap before
    for args in "read-images" "read-vms" "create-image --image-name x --boot-modes uefi" \
        "create-vms --image-id $IMG" "start-vms --vm-ids $VM" "delete-vms --vm-ids $VM" \
        "delete-image --image-id $IMG"; do
        # shellcheck disable=SC2086
        run_fail 3 2002 RegistryError "damaged or is not a database" $args
    done
    [ "$(sha "$D/registry.db")" = "$H" ] || fail "the corrupt registry was modified"
    unchanged before "a corrupt registry led to changes"
    ok
    # a real registry with one table's page damaged: the integrity check of every write
    # command catches what a read of other tables would miss
    for table in meta vtpms vms images; do
        cp "$T/good.db" "$D/registry.db"
        python3 -c "
import sqlite3
db=sqlite3.connect('$D/registry.db')
page=db.execute(\"SELECT rootpage FROM sqlite_master WHERE name='$table'\").fetchone()[0]
size=db.execute('PRAGMA page_size').fetchone()[0]
db.close()
f=open('$D/registry.db','r+b'); f.seek((page-1)*size); f.write(b'\\xee'*16); f.close()"
        snap before
        run_fail 3 2002 RegistryError "damaged" create-image --image-name x --boot-modes uefi
        unchanged before "a damaged registry ($table) led to changes"
    done
    # another program's database
    rm "$D/registry.db"
    python3 -c "import sqlite3; sqlite3.connect('$D/registry.db').execute('CREATE TABLE t(x)')"
    run_fail 3 2002 RegistryError "not a vtpmctl registry" read-vms
    # a lost registry never makes the vTPMs look like orphans
    rm "$D/registry.db"
    snap before
    run_fail 3 2002 RegistryError "missing or empty but the data dir holds vTPM folders" \
        create-image --image-name x --boot-modes uefi
    run_fail 3 2002 RegistryError "missing or empty" read-vms
    : > "$D/registry.db"
    run_fail 3 2002 RegistryError "missing or empty" create-vms --image-id "$IMG"
    rm "$D/registry.db"
    unchanged before "a lost registry led to changes"
    [ -f "$(vtpm_file "$VM")" ] || fail "the vTPM file was swept"
    ok
}

t_readonly_datadir() {
    mkimage deb uefi --tpm-mandatory
    mkvm "$IMG"
    snap before
    # Unwritable for the user who runs vtpmctl. As root, that user is nobody: root
    # writes anywhere.
    as=""
    if [ "$(id -u)" = 0 ]; then
        chown -R 65534:65534 "$T"
        as="setpriv --reuid=65534 --regid=65534 --clear-groups"
    fi
    chmod 0500 "$D"
    try() {
        rc=0
        # shellcheck disable=SC2086
        $as env HOME=/nonexistent timeout -k 5 60 "$VTPMCTL" --data-dir "$D" "$@" \
            > "$T/out" 2> "$T/err" || rc=$?
    }
    for args in "create-image --image-name x --boot-modes uefi" "create-vms --image-id $IMG" \
        "start-vms --vm-ids $VM" "stop-vms --vm-ids $VM" "delete-vms --vm-ids $VM" \
        "reboot-vms --vm-ids $VM" "delete-image --image-id $IMG"; do
        # shellcheck disable=SC2086
        try $args
        [ $rc = 3 ] || fail "$args on a read-only data dir: exit $rc"
        [ ! -s "$T/out" ] || fail "$args printed output"
        check error "$T/err" 2001 DataDirectoryError "is not writable" || fail "$args message"
    done
    # reading works and changes nothing
    try read-vms
    [ $rc = 0 ] || fail "read-vms on a read-only data dir: $(cat "$T/err")"
    [ "$(check vms "$T/out")" = 1 ] || fail "read-vms content"
    try read-images --filter-tpm-mandatory true
    [ $rc = 0 ] || fail "read-images on a read-only data dir"
    [ "$(check images "$T/out")" = 1 ] || fail "read-images content"
    try start-vms --vm-ids "$VM" --dry-run
    [ $rc = 3 ] && check error "$T/err" 2003 KeyError "belongs to uid" > /dev/null ||
        [ $rc = 0 ] || fail "dry-run on a read-only data dir: $(cat "$T/err")"
    chmod 0700 "$D"
    [ "$(id -u)" = 0 ] && chown -R 0:0 "$T"
    unchanged before "a read-only data dir was changed"
    ok
}

t_no_key_leak() {
    export FAKE_VTPMD_KEY_OUT="$T/keys"
    mkimage deb uefi --tpm-mandatory
    mkvm "$IMG" --count 3
    ids=$(get '",".join(v["VmId"] for v in d["Vms"])')
    run_ok start-vms --vm-ids "$ids"
    [ "$(wc -l < "$T/keys")" = 3 ] || fail "vtpmd did not get three keys"
    run_ok start-vms --vm-ids "$ids" --dry-run
    run_ok read-vms
    run_ok reboot-vms --vm-ids "$ids"
    # the running processes: no key in their command lines or environments
    for v in $(echo "$ids" | tr , ' '); do
        for p in $(pid_of "$v" vtpmd) $(pid_of "$v" qemu); do
            cat "/proc/$p/cmdline" > "$T/proc.$p.cmdline"
            cat "/proc/$p/environ" > "$T/proc.$p.environ"
        done
    done
    run_ok stop-vms --vm-ids "$ids"
    # the key of a vTPM created in a crash, too
    VTPMCTL_FAULT=create-vms:after-row ctl create-vms --image-id "$IMG" || true
    # Every byte vtpmctl printed, the registry, every file of the data dir but the vTPM
    # files, the processes' command lines and environments: no key, in any encoding.
    find "$D" -name tpm2-00.permall > "$T/vtpm_files"
    mkdir "$T/scan"
    cp "$T/transcript" "$T"/proc.* "$T/scan/"
    (cd "$D" && find . -type f ! -name tpm2-00.permall) | while read -r f; do
        mkdir -p "$T/scan/d/$(dirname "$f")"
        cp "$D/$f" "$T/scan/d/$f"
    done
    [ -f "$T/scan/d/registry.db" ] || fail "registry not scanned"
    out=$(check leak "$T/keys" "$T/scan") || fail "a data key leaked"
    echo "$out" | grep -q "keys=3" || fail "scan: $out"
    # the host key is not printed either
    od -An -tx1 -v "$D/kek" | tr -d ' \n' > "$T/kek.hex"
    echo >> "$T/kek.hex"
    check leak "$T/kek.hex" "$T/transcript" "$T"/proc.* "$D/registry.db" > /dev/null ||
        fail "the host key leaked"
    ok
}

t_crash() {
    mkimage deb uefi --tpm-mandatory
    M=$IMG
    n=0
    # SIGKILL at every named point of create-vms, first and later VMs of a --count 3
    for point in create-vms:after-mkdir create-vms:after-file create-vms:after-row \
        create-vms:after-mkdir@3 create-vms:after-file@2 create-vms:after-row@3 \
        create-vms:before-commit create-vms:after-commit; do
        before=$(check invariant "$D" swept | sed 's/ .*//')
        rc=0
        VTPMCTL_FAULT=$point ctl create-vms --image-id "$M" --count 3 || rc=$?
        [ $rc = 137 ] || fail "$point: vtpmctl was not killed there (exit $rc)"
        # at once: never a committed row without its file
        invariant > /dev/null
        after=$(check invariant "$D" | sed 's/ .*//')
        case $point in
        *after-commit) [ "${after#vms=}" = $((${before#vms=} + 3)) ] ||
            fail "$point: the committed VMs are not all there" ;;
        *) [ "$after" = "$before" ] || fail "$point: half a create-vms is visible" ;;
        esac
        # the next write command sweeps what the crash left: no file without its row
        run_ok create-image --image-name sweep --boot-modes legacy
        invariant swept > /dev/null
        n=$((n + 1))
    done
    ok
    # terminate: killed before the commit nothing is destroyed; after it, the key is gone
    mkvm "$M"
    A=$VM
    rc=0
    VTPMCTL_FAULT=delete-vms:before-commit ctl delete-vms --vm-ids "$A" || rc=$?
    [ $rc = 137 ] || fail "delete-vms before-commit: exit $rc"
    [ "$(vm_field "$A" '["Vtpm"]["State"]')" = attached ] || fail "destroyed before commit"
    [ -f "$(vtpm_file "$A")" ] || fail "file removed before commit"
    invariant swept > /dev/null
    rc=0
    VTPMCTL_FAULT=delete-vms:after-commit ctl delete-vms --vm-ids "$A" || rc=$?
    [ $rc = 137 ] || fail "delete-vms after-commit: exit $rc"
    [ "$(vm_field "$A" '["Vtpm"]["State"]')" = destroyed ] || fail "not destroyed"
    invariant > /dev/null
    run_ok create-image --image-name sweep --boot-modes legacy
    [ ! -e "$D/vtpm/$A" ] || fail "the sweep left the destroyed vTPM's file"
    invariant swept > /dev/null
    ok
    # killed at random moments in the middle of create-vms --count 5, until at least 5 kills
    # landed between a vTPM file and the commit (a folder without its row is then visible)
    i=0
    mid=0
    while [ $mid -lt 5 ]; do
        [ $i -lt 200 ] || fail "no random kill landed in the middle of a create-vms"
        ms=$(( $(od -An -N2 -tu2 /dev/urandom) % 40 ))
        timeout -s KILL "0.0$(printf '%02d' $ms)" "$VTPMCTL" --data-dir "$D" create-vms \
            --image-id "$M" --count 5 > /dev/null 2>&1 || true
        out=$(check invariant "$D") || fail "random kill $i"
        vms=${out%% *}
        # all or nothing: the number of VMs only ever moves in steps of 5
        [ $(( (${vms#vms=} - 1 - 3) % 5 )) = 0 ] || fail "random kill $i left $out"
        live=$(echo "$out" | sed 's/.*live_vtpms=\([0-9]*\).*/\1/')
        folders=${out##*folders=}
        [ "$live" = "$folders" ] || mid=$((mid + 1))
        # a reader right after the crash sees the committed VMs only, each complete
        run_ok read-vms
        [ "$(check vms "$T/out")" = "${vms#vms=}" ] || fail "read-vms after kill $i"
        i=$((i + 1))
    done
    echo "random kills: $i, $mid of them between a vTPM file and its commit"
    run_ok create-image --image-name sweep --boot-modes legacy
    invariant swept > /dev/null
    ok
}

t_concurrent() {
    mkimage deb uefi --tpm-mandatory
    M=$IMG
    i=0
    while [ $i -lt 25 ]; do
        "$VTPMCTL" --data-dir "$D" create-vms --image-id "$M" --count 2 > "$T/c1" 2>&1 &
        p1=$!
        "$VTPMCTL" --data-dir "$D" create-vms --image-id "$M" --count 2 > "$T/c2" 2>&1 &
        p2=$!
        wait $p1 || fail "concurrent create-vms failed: $(cat "$T/c1")"
        wait $p2 || fail "concurrent create-vms failed: $(cat "$T/c2")"
        check vms "$T/c1" > /dev/null && check vms "$T/c2" > /dev/null || fail "outputs"
        i=$((i + 1))
    done
    out=$(check invariant "$D" swept) || fail "invariant"
    [ "$out" = "vms=100 live_vtpms=100 folders=100" ] || fail "after 50 create-vms: $out"
    run_ok read-vms
    [ "$(get 'len(set(v["VmId"] for v in d["Vms"]))')" = 100 ] || fail "ids not unique"
    [ "$(get 'len(set(v["Vtpm"]["VtpmId"] for v in d["Vms"]))')" = 100 ] || fail "vTPM ids"
    ok
    # creation and termination at once
    ids=$(get '",".join(v["VmId"] for v in d["Vms"][:10])')
    "$VTPMCTL" --data-dir "$D" delete-vms --vm-ids "$ids" > "$T/c1" 2>&1 &
    p1=$!
    "$VTPMCTL" --data-dir "$D" create-vms --image-id "$M" --count 5 > "$T/c2" 2>&1 &
    p2=$!
    wait $p1 || fail "delete-vms: $(cat "$T/c1")"
    wait $p2 || fail "create-vms: $(cat "$T/c2")"
    out=$(check invariant "$D" swept) || fail "invariant"
    [ "$out" = "vms=105 live_vtpms=95 folders=95" ] || fail "after delete + create: $out"
    ok
    # two start-vms of one VM at once start it once; two stop-vms at once stop it once
    mkvm "$M"
    r=1
    while [ $r -le 3 ]; do
        "$VTPMCTL" --data-dir "$D" start-vms --vm-ids "$VM" > "$T/c1" 2>&1 &
        p1=$!
        "$VTPMCTL" --data-dir "$D" start-vms --vm-ids "$VM" > "$T/c2" 2>&1 &
        p2=$!
        wait $p1 && wait $p2 || fail "concurrent start-vms: $(cat "$T/c1" "$T/c2")"
        prev=$(cat "$T/c1" "$T/c2" | grep -o '"PreviousState": "[a-z]*"' | sort | tr -d '\n')
        [ "$prev" = '"PreviousState": "running""PreviousState": "stopped"' ] ||
            fail "round $r: both starts started the VM: $prev"
        [ "$(grep -c '^opened' "$D/vms/$VM/vtpmd.log")" = $r ] || fail "vtpmd started twice"
        "$VTPMCTL" --data-dir "$D" stop-vms --vm-ids "$VM" > "$T/c1" 2>&1 &
        p1=$!
        "$VTPMCTL" --data-dir "$D" stop-vms --vm-ids "$VM" --force-stop > "$T/c2" 2>&1 &
        p2=$!
        wait $p1 && wait $p2 || fail "concurrent stop-vms: $(cat "$T/c1" "$T/c2")"
        ! alive "$(pid_of "$VM" vtpmd)" || fail "vtpmd left running"
        r=$((r + 1))
    done
    ok
}

t_supervise() {
    mkimage deb uefi --tpm-mandatory
    mkvm "$IMG"
    A=$VM
    # a guest that ignores the power button: QEMU gets SIGTERM after --timeout
    export FAKE_QEMU_IGNORE_POWERDOWN=1
    start_and_check "$A"
    QP=$(pid_of "$A" qemu)
    run_ok stop-vms --vm-ids "$A" --timeout 1
    grep -q "^powerdown$" "$D/vms/$A/console.log" || fail "no powerdown asked"
    grep -q "^sigterm$" "$D/vms/$A/console.log" || fail "QEMU not stopped by SIGTERM"
    ! alive "$QP" || fail "QEMU survived"
    unset FAKE_QEMU_IGNORE_POWERDOWN
    # --force-stop: no powerdown at all
    start_and_check "$A"
    : > "$D/vms/$A/console.log"
    run_ok stop-vms --vm-ids "$A" --force-stop
    ! grep -q "^powerdown$" "$D/vms/$A/console.log" || fail "--force-stop asked the guest"
    ok
    # a vtpmd that ignores SHUTDOWN and outlives QEMU gets SIGTERM
    export FAKE_VTPMD_IGNORE_SHUTDOWN=1
    start_and_check "$A"
    VP=$(pid_of "$A" vtpmd)
    # without --terminate behaviour: drop QEMU's connection without a word
    kill -9 "$(pid_of "$A" qemu)"
    run_ok stop-vms --vm-ids "$A"
    ! alive "$VP" || fail "vtpmd survived stop"
    unset FAKE_VTPMD_IGNORE_SHUTDOWN
    ok
    # the guest powers itself off: the VM reads as stopped, and starts again cleanly
    start_and_check "$A"
    VP=$(pid_of "$A" vtpmd)
    python3 -c "
import socket
s=socket.socket(socket.AF_UNIX); s.connect('$D/vms/$A/qmp.sock')
f=s.makefile('rwb'); f.readline()
for c in (b'qmp_capabilities', b'quit'):
    f.write(b'{\"execute\": \"'+c+b'\"}\n'); f.flush(); f.readline()"
    wait_gone "$VP" || fail "vtpmd did not follow QEMU"
    [ "$(vm_field "$A" '["State"]')" = stopped ] || fail "a powered-off VM reads as running"
    start_and_check "$A"
    run_ok stop-vms --vm-ids "$A"
    ok
    # a stale pid file naming another process: never signalled, never taken for the VM
    sleep 60 &
    SP=$!
    echo $SP >> "$T/pids"
    echo "$SP" > "$D/vms/$A/qemu.pid"
    echo "$SP" > "$D/vms/$A/vtpmd.pid"
    [ "$(vm_field "$A" '["State"]')" = stopped ] || fail "a stale pid made the VM running"
    run_ok stop-vms --vm-ids "$A"
    alive "$SP" || fail "an unrelated process was killed"
    start_and_check "$A"
    run_ok stop-vms --vm-ids "$A"
    alive "$SP" || fail "an unrelated process was killed"
    kill "$SP"
    ok
    # vtpmd refuses to start: the start fails with its reason, QEMU never runs
    mkvm "$IMG"
    B=$VM
    export FAKE_VTPMD_FAIL="cannot lock the state directory"
    run_fail 3 2005 LaunchError "cannot lock the state directory" start-vms --vm-ids "$B"
    [ ! -e "$D/vms/$B/console.log" ] || fail "QEMU ran without vtpmd"
    unset FAKE_VTPMD_FAIL
    # QEMU refuses to start: vtpmd is not left behind; a start of two is all or nothing
    run_ok start-vms --vm-ids "$A"
    run_ok stop-vms --vm-ids "$A"
    mv "$T/OVMF_CODE.fd" "$T/OVMF_CODE.moved"
    run_fail 3 2005 LaunchError "Could not open" start-vms --vm-ids "$A,$B"
    for v in "$A" "$B"; do
        ! alive "$(pid_of "$v" vtpmd)" || fail "vtpmd left running after a failed start"
        [ "$(vm_field "$v" '["State"]')" = stopped ] || fail "half a start"
    done
    mv "$T/OVMF_CODE.moved" "$T/OVMF_CODE.fd"
    ok
    # vtpmctl killed in the middle of a start: the next command cleans up, no double vtpmd
    rc=0
    VTPMCTL_FAULT=start-vms:after-vtpmd ctl start-vms --vm-ids "$A" || rc=$?
    [ $rc = 137 ] || fail "start-vms fault: exit $rc"
    VP=$(pid_of "$A" vtpmd)
    alive "$VP" || fail "the fault came before vtpmd"
    start_and_check "$A"
    ! alive "$VP" || fail "the orphaned vtpmd was left running"
    [ "$(pid_of "$A" vtpmd)" != "$VP" ] || fail "the orphaned vtpmd was reused"
    run_ok delete-vms --vm-ids "$A,$B"
    ok
}

t_dry_run() {
    touch "$T/vmlinuz" "$T/initrd.img"
    mkimage deb uefi --tpm-mandatory --kernel "$T/vmlinuz" --initrd "$T/initrd.img" \
        --kernel-cmdline "console=ttyS0 panic=-1"
    mkvm "$IMG"
    A=$VM
    mkimage old legacy
    mkvm "$IMG"
    L=$VM
    snap before
    run_ok start-vms --vm-ids "$A,$L" --dry-run
    [ "$(get 'd["DryRun"]')" = true ] || fail "DryRun"
    [ "$(get 'len(d["Vms"])')" = 2 ] || fail "two plans"
    first=$(get 'd["Vms"][0]["VmId"]')
    [ "$first" = "$(printf '%s\n%s\n' "$A" "$L" | sort | head -1)" ] || fail "plan order"
    run_ok start-vms --vm-ids "$A" --dry-run
    vt=$(get '" ".join(d["Vms"][0]["Commands"][0]["Argv"])')
    [ "$vt" = "$VTPMCTL_VTPMD socket --tpm2 --tpmstate dir=$D/vtpm/$A,mode=0600 --ctrl type=unixio,path=$D/vms/$A/vtpmd.sock,mode=0600 --pid file=$D/vms/$A/vtpmd.pid --log file=$D/vms/$A/vtpmd.log --key fd=3,mode=aes-256-gcm --vmid $A --daemon --terminate" ] ||
        fail "vtpmd argv: $vt"
    [ "$(get 'd["Vms"][0]["Commands"][0]["Fds"]["3"]')" = \
        "the vTPM data key (pipe, 32 bytes, read once)" ] || fail "key fd"
    q=$(get '" ".join(d["Vms"][0]["Commands"][1]["Argv"])')
    for want in "-machine q35,accel=tcg" "-pidfile $D/vms/$A/qemu.pid" "-daemonize" \
        "if=pflash,format=raw,unit=0,readonly=on,file=$T/OVMF_CODE.fd" \
        "if=pflash,format=raw,unit=1,file=$D/vms/$A/OVMF_VARS.fd" \
        "-chardev socket,id=chrtpm,path=$D/vms/$A/vtpmd.sock" \
        "-tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-crb,tpmdev=tpm0" \
        "-kernel $T/vmlinuz -initrd $T/initrd.img -append console=ttyS0 panic=-1"; do
        case $q in *"$want"*) ;; *) fail "QEMU argv lacks '$want': $q" ;; esac
    done
    get 'd["Vms"][0]["Commands"][1]["CommandLine"]' | grep -q -- "-append 'console=ttyS0 panic=-1'" ||
        fail "CommandLine is not shell-quoted"
    run_ok start-vms --vm-ids "$L" --dry-run
    [ "$(get '[c["Program"] for c in d["Vms"][0]["Commands"]]')" = '["qemu"]' ] ||
        fail "a legacy VM runs vtpmd"
    q=$(get '" ".join(d["Vms"][0]["Commands"][0]["Argv"])')
    case $q in *pflash* | *-tpmdev* | *chrtpm*) fail "legacy QEMU argv: $q" ;; esac
    unchanged before "a dry run changed something"
    [ ! -e "$D/vms" ] || fail "a dry run made run folders"
    [ "$(vm_field "$A" '["State"]')" = stopped ] || fail "a dry run started the VM"
    ok
}

# wait_for FILE PATTERN SECONDS: until grep -a finds PATTERN in FILE
wait_for() {
    i=0
    while ! grep -aq "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt $(($3 * 10)) ] || return 1
        sleep 0.1
    done
}

t_real_qemu() {
    # The launch plan with the real QEMU, OVMF, SeaBIOS and vtpmd (its log at level 3 through
    # vtpmd_verbose.sh): OVMF must talk to the vTPM through the wiring vtpmctl builds, with the
    # data key passed on a descriptor, a reboot must reach it again, and a stop must end both.
    for p in qemu-system-x86_64; do
        command -v $p > /dev/null || { echo "SKIP: $p is not installed"; exit 77; }
    done
    [ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || { echo "SKIP: no OVMF"; exit 77; }
    [ -x "$build/src/daemon/vtpmd" ] || fail "vtpmd is not built"
    export VTPMCTL_QEMU=qemu-system-x86_64
    export VTPMD_BUILD="$build"
    export VTPMCTL_VTPMD="$here/vtpmd_verbose.sh"
    unset VTPMCTL_OVMF_CODE VTPMCTL_OVMF_VARS MALLOC_PERTURB_
    mkimage uefi uefi --tpm-mandatory
    mkvm "$IMG"
    A=$VM
    start_and_check "$A"
    wait_for "$D/vms/$A/console.log" "Shell>" 120 || fail "OVMF did not reach its shell"
    # TPM2_Startup (command code 0x144) arrived at the vTPM from OVMF
    n=$(grep -c "command 0x00000144 .* -> 0x0 " "$D/vms/$A/vtpmd.log" || true)
    [ "$n" -ge 1 ] || fail "OVMF sent no TPM2_Startup to the vTPM"
    grep -q "state file not encrypted" "$D/vms/$A/vtpmd.log" && fail "the vTPM ran without its key"
    ok
    VP=$(pid_of "$A" vtpmd)
    : > "$D/vms/$A/console.log"
    run_ok reboot-vms --vm-ids "$A"
    wait_for "$D/vms/$A/console.log" "Shell>" 120 || fail "no reboot"
    m=$(grep -c "command 0x00000144 .* -> 0x0 " "$D/vms/$A/vtpmd.log" || true)
    [ "$m" -gt "$n" ] || fail "the rebooted firmware did not reach the vTPM"
    [ "$(pid_of "$A" vtpmd)" = "$VP" ] || fail "a reboot replaced the vTPM process"
    QP=$(pid_of "$A" qemu)
    # OVMF's shell ignores the power button: QEMU gets SIGTERM after the timeout
    run_ok stop-vms --vm-ids "$A" --timeout 2
    wait_gone "$QP" || fail "QEMU survived stop"
    wait_gone "$VP" || fail "vtpmd survived stop"
    [ ! -e "$D/vms/$A/qemu.pid" ] && [ ! -e "$D/vms/$A/vtpmd.sock" ] || fail "run files left"
    # started again: the same vTPM file opens with the key from the registry
    start_and_check "$A"
    wait_for "$D/vms/$A/console.log" "Shell>" 120 || fail "OVMF did not reach its shell again"
    run_ok stop-vms --vm-ids "$A" --timeout 2
    ok
    # legacy: SeaBIOS, no vTPM
    mkimage legacy legacy
    mkvm "$IMG"
    L=$VM
    start_and_check_legacy() {
        run_ok start-vms --vm-ids "$L"
        alive "$(pid_of "$L" qemu)" || fail "legacy QEMU is not running"
        [ ! -e "$D/vms/$L/vtpmd.pid" ] || fail "a legacy VM got a vTPM process"
    }
    start_and_check_legacy
    # SeaBIOS prints nothing on the serial port: check QEMU runs it, without OVMF
    sleep 1
    LP=$(pid_of "$L" qemu)
    alive "$LP" || fail "legacy QEMU stopped"
    ! tr '\0' ' ' < "/proc/$LP/cmdline" | grep -q pflash || fail "legacy VM has OVMF"
    run_ok delete-vms --vm-ids "$L,$A"
    wait_gone "$LP" || fail "legacy QEMU survived delete"
    [ ! -e "$D/vtpm/$A" ] || fail "vTPM left after delete"
    ok
}

"t_$name"
echo "ok [$name]: $pass checks"
