#!/bin/sh
# The policy commands with Debian's tpm2-tools, each used the way its manual shows, against the
# engine (tpm2-tss's cmd TCTI and tests/tools/tpm_stdio: one process per tool) or, through
# on_vtpmd.sh, against vtpmd. Every policy is built in a trial session, bound to an object or
# an index, then satisfied in a policy session: the step that must work is checked by its
# result (unsealed bytes, NV contents), and a step that must be refused by the response code.
# Last, dictionary-attack protection: wrong passwords lock an object out, across a restart,
# until the lockout hierarchy resets it.
# Usage: policy_tools.sh BUILD_DIR (VTPM_TCTI, when set, names the TPM instead of tpm_stdio)
set -eu
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d)
trap 'flock "$tmp/lock" true; rm -rf "$tmp"' EXIT
cd "$tmp"
# The cmd TCTI does not wait for its server: a lock held for each server's life orders them.
export TPM2TOOLS_TCTI="${VTPM_TCTI:-cmd:flock $tmp/lock $build/tests/tpm_stdio $tmp/state}"
pass=0
ok() { pass=$((pass + 1)); }
fail() {
    echo "FAIL: $*"
    exit 1
}
# (before each step: the transient objects flushed, see session() below)
step() {
    what=$1
    shift
    tpm2_flushcontext -t >/dev/null 2>&1 || true
    "$@" >out.txt 2>&1 || { cat out.txt; fail "$what"; }
    ok
}
# the TPM refused with this response code (as ESYS reports it, session/parameter bits masked)
expect_rc() {
    rc=$1
    what=$2
    shift 2
    tpm2_flushcontext -t >/dev/null 2>&1 || true
    if "$@" >/dev/null 2>err.txt; then fail "$what: should have failed with $rc"; fi
    got=$(grep -o 'ErrorCode (0x[0-9a-f]*)' err.txt | head -1 | grep -o '0x[0-9a-f]*') ||
        { cat err.txt; fail "$what: no TPM response code"; }
    [ $((got & 0xFBF)) -eq $(($rc & 0xFBF)) ] || fail "$what: answered $got, not $rc"
    ok
}
same() { cmp -s "$2" "$3" || fail "$1: $2 and $3 differ"; ok; }
# A TPM without a resource manager keeps every object a tool loaded (the tools save their
# contexts in files and load them again): flush the transient objects before each session.
session() {
    tpm2_flushcontext -t >/dev/null 2>&1 || true
    tpm2_startauthsession -S s.ctx "$@" >/dev/null || fail "startauthsession $*"
}
flush() { tpm2_flushcontext s.ctx >/dev/null 2>&1 || true; }
RC_POLICY_FAIL=0x99D
RC_POLICY_CC=0x9A4
RC_EXPIRED=0x9A3
RC_PCR_CHANGED=0x128

tpm2_startup -c >/dev/null 2>&1 || true
step "primary" tpm2_createprimary -C o -c prim.ctx
head -c 32 /dev/urandom >secret.bin

# seal SECRET under the policy file $1 (extra tpm2_create options follow); key.ctx is the object
seal() {
    pol=$1
    shift
    tpm2_flushcontext -t >/dev/null 2>&1 || true
    tpm2_create -C prim.ctx -i secret.bin -L "$pol" -u key.pub -r key.priv "$@" >/dev/null ||
        fail "create under $pol"
    tpm2_load -C prim.ctx -u key.pub -r key.priv -c key.ctx >/dev/null || fail "load under $pol"
}
unseal_ok() {
    tpm2_unseal -c key.ctx -p session:s.ctx -o unsealed.bin >out.txt 2>&1 ||
        { cat out.txt; flush; fail "$1"; }
    flush
    same "$1" secret.bin unsealed.bin
}

# ---- PolicySigned, then PolicyTicket from the ticket it returns ----
openssl genrsa -out signer.pem 2048 2>/dev/null
openssl rsa -in signer.pem -pubout -out signer.pub.pem 2>/dev/null
step "loadexternal signer" \
    tpm2_loadexternal -C o -G rsa -u signer.pub.pem -c signer.ctx -n signer.name
printf '\000\000\000\000' | openssl dgst -sha256 -sign signer.pem -out sig0.bin
session
step "trial policysigned" \
    tpm2_policysigned -S s.ctx -g sha256 -s sig0.bin -f rsassa -c signer.ctx -L signed.pol
flush
seal signed.pol
# the authorization signs nonceTPM || expiration (the tool writes those bytes with
# --raw-data); a negative expiration (-500 s) asks for a ticket
session --policy-session
step "data to sign" tpm2_policysigned -S s.ctx -g sha256 -c signer.ctx -x -t -500 \
    --raw-data tosign.bin
openssl dgst -sha256 -sign signer.pem -out sig1.bin tosign.bin
step "policysigned with the session's nonce" tpm2_policysigned -S s.ctx -g sha256 -s sig1.bin \
    -f rsassa -c signer.ctx -x -t -500 --ticket signed.tkt --timeout signed.timeout
unseal_ok "unseal with policysigned"
[ -s signed.tkt ] || fail "policysigned returned no ticket"
ok
# the same signature in another session (another nonceTPM) is refused
session --policy-session
expect_rc 0x5DB "policysigned with a signature over another nonce" tpm2_policysigned -S s.ctx \
    -g sha256 -s sig1.bin -f rsassa -c signer.ctx -x -t -500
flush
# the ticket stands in for the signature while the TPM is not reset
session --policy-session
step "policyticket" \
    tpm2_policyticket -S s.ctx -n signer.name --ticket signed.tkt --timeout signed.timeout
unseal_ok "unseal with policyticket"

# ---- PolicyOR of a PCR policy and a password policy; PolicyPassword ----
session
step "trial policypcr" tpm2_policypcr -S s.ctx -l sha256:0,1,2,3 -L pcr.pol
flush
session
step "trial policypassword" tpm2_policypassword -S s.ctx -L pass.pol
flush
session
step "trial policyor" tpm2_policyor -S s.ctx -L or.pol sha256:pass.pol,pcr.pol
flush
seal or.pol -p objpw
session --policy-session
step "policypassword" tpm2_policypassword -S s.ctx
step "policyor (password branch)" tpm2_policyor -S s.ctx sha256:pass.pol,pcr.pol
unseal_ok_pw() {
    tpm2_unseal -c key.ctx -p "session:s.ctx+$1" -o unsealed.bin >out.txt 2>&1 ||
        { cat out.txt; flush; fail "$2"; }
    flush
    same "$2" secret.bin unsealed.bin
}
unseal_ok_pw objpw "unseal with policypassword + policyor"
session --policy-session
step "policypassword again" tpm2_policypassword -S s.ctx
step "policyor again" tpm2_policyor -S s.ctx sha256:pass.pol,pcr.pol
expect_rc 0x98E "unseal with the wrong password" tpm2_unseal -c key.ctx -p session:s.ctx+wrong
flush
session --policy-session
step "policypcr" tpm2_policypcr -S s.ctx -l sha256:0,1,2,3
step "policyor (PCR branch)" tpm2_policyor -S s.ctx sha256:pass.pol,pcr.pol
unseal_ok "unseal with policypcr + policyor"
# a PCR that changes after PolicyPCR invalidates the session
session --policy-session
step "policypcr before the extend" tpm2_policypcr -S s.ctx -l sha256:0,1,2,3
step "policyor before the extend" tpm2_policyor -S s.ctx sha256:pass.pol,pcr.pol
step "extend PCR 3" tpm2_pcrextend 3:sha256=$(printf 'vtpm' | sha256sum | cut -d' ' -f1)
expect_rc $RC_PCR_CHANGED "unseal after a PCR changed" tpm2_unseal -c key.ctx -p session:s.ctx
flush
# the PCR branch no longer matches: PolicyOR refuses a digest it does not list
session --policy-session
step "policypcr after the extend" tpm2_policypcr -S s.ctx -l sha256:0,1,2,3
expect_rc 0x1C4 "policyor with a digest not in the list" \
    tpm2_policyor -S s.ctx sha256:pass.pol,pcr.pol
flush

# ---- PolicyCounterTimer ----
session
step "trial policycountertimer" tpm2_policycountertimer -S s.ctx -L ct.pol --ult 3600000000
flush
seal ct.pol
session --policy-session
step "policycountertimer (clock below the bound)" tpm2_policycountertimer -S s.ctx --ult 3600000000
unseal_ok "unseal with policycountertimer"
session --policy-session
expect_rc 0x126 "policycountertimer that does not hold" \
    tpm2_policycountertimer -S s.ctx --ugt 3600000000
flush

# ---- PolicyNvWritten: a write-once index ----
session
step "trial policycommandcode NV_Write" tpm2_policycommandcode -S s.ctx TPM2_CC_NV_Write
step "trial policynvwritten" tpm2_policynvwritten -S s.ctx -L once.pol c
flush
step "nvdefine write-once" \
    tpm2_nvdefine 0x1500200 -C o -s 1 -a "ownerread|authread|policywrite" -L once.pol
session --policy-session
tpm2_policycommandcode -S s.ctx TPM2_CC_NV_Write >/dev/null
step "policynvwritten (not yet written)" tpm2_policynvwritten -S s.ctx c
printf '\252' >aa.bin
step "first write" tpm2_nvwrite 0x1500200 -i aa.bin -P session:s.ctx
flush
tpm2_nvread 0x1500200 -C o -s 1 -o got.bin >/dev/null || fail "nvread write-once"
same "write-once contents" aa.bin got.bin
session --policy-session
tpm2_policycommandcode -S s.ctx TPM2_CC_NV_Write >/dev/null
tpm2_policynvwritten -S s.ctx c >/dev/null
expect_rc $RC_POLICY_FAIL "second write of a write-once index" \
    tpm2_nvwrite 0x1500200 -i aa.bin -P session:s.ctx
flush

# ---- PolicyCpHash and PolicyNameHash ----
# PolicyCpHash: the owner's policy allows one NV_Write, with these bytes, to this index. The
# cpHash covers the command's handles (the owner, the index) and its parameters.
step "nvdefine for cphash" tpm2_nvdefine 0x1500201 -C o -s 8 -a "ownerread|ownerwrite"
printf 'approved' >approved.bin
printf 'changed!' >changed.bin
step "cphash of the approved write" tpm2_nvwrite 0x1500201 -C o -i approved.bin --cphash cp.bin
session
step "trial policycphash" tpm2_policycphash -S s.ctx -L cp.pol --cphash cp.bin
flush
step "setprimarypolicy owner (cphash)" tpm2_setprimarypolicy -C o -g sha256 -L cp.pol
session --policy-session
step "policycphash" tpm2_policycphash -S s.ctx --cphash cp.bin
expect_rc $RC_POLICY_FAIL "a write other than the approved one" \
    tpm2_nvwrite 0x1500201 -C o -i changed.bin -P session:s.ctx
flush
session --policy-session
step "policycphash again" tpm2_policycphash -S s.ctx --cphash cp.bin
step "the approved write" tpm2_nvwrite 0x1500201 -C o -i approved.bin -P session:s.ctx
flush
tpm2_nvread 0x1500201 -C o -s 8 -o got.bin >/dev/null || fail "nvread cphash index"
same "approved write contents" approved.bin got.bin

# PolicyNameHash: the owner's policy lets EvictControl persist this one object only. The
# names hashed are the command's handles: the owner (its handle) and the object.
step "new parent" tpm2_create -C prim.ctx -G rsa -u np.pub -r np.priv \
    -a "decrypt|fixedparent|fixedtpm|restricted|sensitivedataorigin|userwithauth"
step "load new parent" tpm2_load -C prim.ctx -u np.pub -r np.priv -c np.ctx -n np.name
step "readpublic primary" tpm2_readpublic -c prim.ctx -n prim.name
step "a key to persist" tpm2_create -C prim.ctx -G ecc -u ek.pub -r ek.priv
step "load it" tpm2_load -C prim.ctx -u ek.pub -r ek.priv -c ek.ctx -n ek.name
step "another key" tpm2_create -C prim.ctx -G ecc -u ok.pub -r ok.priv
step "load the other" tpm2_load -C prim.ctx -u ok.pub -r ok.priv -c ok.ctx
{ printf '\100\000\000\001'; cat ek.name; } | openssl dgst -sha256 -binary >names.hash
session
step "trial policynamehash" tpm2_policynamehash -S s.ctx -n names.hash
step "trial policycommandcode EvictControl" \
    tpm2_policycommandcode -S s.ctx -L nh.pol TPM2_CC_EvictControl
flush
step "setprimarypolicy owner (namehash)" tpm2_setprimarypolicy -C o -g sha256 -L nh.pol
session --policy-session
step "policynamehash" tpm2_policynamehash -S s.ctx -n names.hash
step "policycommandcode EvictControl" tpm2_policycommandcode -S s.ctx TPM2_CC_EvictControl
expect_rc $RC_POLICY_FAIL "evictcontrol of an object the policy does not name" \
    tpm2_evictcontrol -C o -c ok.ctx -P session:s.ctx 0x81000010
flush
session --policy-session
step "policynamehash again" tpm2_policynamehash -S s.ctx -n names.hash
step "policycommandcode again" tpm2_policycommandcode -S s.ctx TPM2_CC_EvictControl
step "evictcontrol of the named object" tpm2_evictcontrol -C o -c ek.ctx -P session:s.ctx 0x81000010
flush
tpm2_getcap handles-persistent | grep -qi 0x81000010 || fail "the object was not persisted"
ok
step "evict it again" tpm2_evictcontrol -C o -c 0x81000010

# ---- PolicyDuplicationSelect ----
session
step "trial policyduplicationselect" tpm2_policyduplicationselect -S s.ctx -N np.name -L ds.pol
flush
step "key for duplicationselect" tpm2_create -C prim.ctx -G ecc -u ds.pub -r ds.priv -L ds.pol \
    -a "sensitivedataorigin|sign|userwithauth"
step "load it" tpm2_load -C prim.ctx -u ds.pub -r ds.priv -c ds.ctx -n ds.name
session --policy-session
step "policyduplicationselect" tpm2_policyduplicationselect -S s.ctx -N np.name -n ds.name
step "duplicate to the selected parent" tpm2_duplicate -C np.ctx -c ds.ctx -G null \
    -p session:s.ctx -r ds_dup.priv -s ds_dup.seed
flush
[ -s ds_dup.priv ] && [ -s ds_dup.seed ] || fail "duplicate wrote no blob"
ok
session --policy-session
step "policyduplicationselect (other parent)" \
    tpm2_policyduplicationselect -S s.ctx -N prim.name -n ds.name
expect_rc $RC_POLICY_FAIL "duplicate to a parent not selected" \
    tpm2_duplicate -C prim.ctx -c ds.ctx \
    -G null -p session:s.ctx -r x.priv -s x.seed
flush
# the ADMIN/DUP role needs the command named: a policy session that asserted nothing fails
session --policy-session
expect_rc $RC_POLICY_FAIL "duplicate without a command code in the policy" \
    tpm2_duplicate -C np.ctx \
    -c ds.ctx -G null -p session:s.ctx -r x.priv -s x.seed
flush

# ---- PolicyTemplate with SetPrimaryPolicy ----
step "primary with its template" tpm2_createprimary -C o -G ecc -c p2.ctx --template-data tmpl.bin
flush_p2() { tpm2_flushcontext p2.ctx >/dev/null 2>&1 || true; }
flush_p2
openssl dgst -sha256 -binary -out tmpl.hash tmpl.bin
session
step "trial policytemplate" tpm2_policytemplate -S s.ctx -L tmpl.pol --template-hash tmpl.hash
flush
step "setprimarypolicy owner" tpm2_setprimarypolicy -C o -g sha256 -L tmpl.pol
session --policy-session
step "policytemplate" tpm2_policytemplate -S s.ctx --template-hash tmpl.hash
step "createprimary with the template the policy names" tpm2_createprimary -C o -G ecc -c p3.ctx \
    -P session:s.ctx
tpm2_flushcontext p3.ctx >/dev/null 2>&1 || true
flush
session --policy-session
step "policytemplate again" tpm2_policytemplate -S s.ctx --template-hash tmpl.hash
expect_rc $RC_POLICY_FAIL "createprimary of another template" tpm2_createprimary -C o -G rsa \
    -c p4.ctx -P session:s.ctx
flush

# ---- Dictionary attack: wrong passwords lock a DA-protected object out ----
step "dictionarylockout: 3 tries, long recovery" tpm2_dictionarylockout -s -n 3 -t 1000 -l 1000
step "clear the failure count" tpm2_dictionarylockout -c
tpm2_flushcontext -t >/dev/null 2>&1 || true
step "a DA-protected sealed object" tpm2_create -C prim.ctx -i secret.bin -p objpw -u da.pub \
    -r da.priv
step "load it" tpm2_load -C prim.ctx -u da.pub -r da.priv -c da.ctx
for i in 1 2 3; do
    expect_rc 0x98E "wrong password $i" tpm2_unseal -c da.ctx -p wrong$i
done
expect_rc 0x921 "the right password while locked out" tpm2_unseal -c da.ctx -p objpw
tpm2_getcap properties-variable | grep -q "inLockout: *1" || fail "TPMA_PERMANENT inLockout"
ok
step "shutdown" tpm2_shutdown
step "startup after the restart" tpm2_startup -c
expect_rc 0x921 "still locked out after a restart" tpm2_unseal -c da.ctx -p objpw
step "the lockout hierarchy resets it" tpm2_dictionarylockout -c
tpm2_unseal -c da.ctx -p objpw -o unsealed.bin >out.txt 2>&1 ||
    { cat out.txt; fail "unseal after the reset"; }
same "unseal after the reset" secret.bin unsealed.bin

echo "policy_tools: $pass checks passed"
