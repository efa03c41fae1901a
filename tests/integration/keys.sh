#!/bin/sh
# Keys and objects with real tpm2-tools over the cmd TCTI (tests/tools/tpm_stdio): every tool
# invocation is a new process, so context files and persistent handles must survive restarts.
#   keys.sh BUILD_DIR
# Prints one line per step and "N passed, M failed" at the end; exits non-zero on a failure.
set -u
BUILD=${1:?usage: keys.sh BUILD_DIR}
STDIO=$(cd "$BUILD" && pwd)/tests/tpm_stdio
W=$(mktemp -d /tmp/vtpm-keys.XXXXXX)
trap 'rm -rf "$W"' EXIT INT TERM
cd "$W" || exit 1
export TPM2TOOLS_TCTI="cmd:$STDIO $W/state"
PASS=0
FAIL=0

step() {
    name=$1
    shift
    if timeout 120 "$@" >"$W/out" 2>&1; then
        PASS=$((PASS + 1))
        echo "ok   $name"
    else
        FAIL=$((FAIL + 1))
        echo "FAIL $name"
        sed 's/^/     /' "$W/out" | head -20
    fi
}

# A step that must fail (a refused operation).
refuse() {
    name=$1
    shift
    if timeout 120 "$@" >"$W/out" 2>&1; then
        FAIL=$((FAIL + 1))
        echo "FAIL $name (accepted, should be refused)"
    else
        PASS=$((PASS + 1))
        echo "ok   $name (refused)"
    fi
}

same() {
    if cmp -s "$2" "$3"; then
        PASS=$((PASS + 1))
        echo "ok   $1"
    else
        FAIL=$((FAIL + 1))
        echo "FAIL $1: $2 and $3 differ"
    fi
}

step startup tpm2_startup -c

# Primary keys of every kind; the same template twice gives the same key.
for alg in rsa2048 rsa3072 ecc256 ecc384 keyedhash aes128cfb aes256cfb; do
    step "createprimary $alg" tpm2_createprimary -C o -G $alg -c prim_$alg.ctx -o prim_$alg.pub
done
step "createprimary rsa2048 again" tpm2_createprimary -C o -G rsa2048 -c prim_rsa2048b.ctx -o prim_rsa2048b.pub
same "rsa2048 primary is deterministic" prim_rsa2048.pub prim_rsa2048b.pub
step "createprimary ecc256 endorsement" tpm2_createprimary -C e -G ecc256 -c prim_e.ctx
step "createprimary ecc256 null" tpm2_createprimary -C n -G ecc256 -c prim_n.ctx
step "readpublic primary" tpm2_readpublic -c prim_ecc256.ctx -o rp.pub

# Children under a storage primary: RSA, ECC, HMAC, sealed data.
P=prim_ecc256.ctx
step "create rsa" tpm2_create -C $P -G rsa2048 -u rsa.pub -r rsa.priv
step "create ecc" tpm2_create -C $P -G ecc256 -u ecc.pub -r ecc.priv
step "create hmac" tpm2_create -C $P -G hmac -u hmac.pub -r hmac.priv
echo "sealed secret 42" >secret.txt
step "create sealed" tpm2_create -C $P -u seal.pub -r seal.priv -i secret.txt -p sealpw
step "createloaded (create -c)" tpm2_create -C $P -G ecc256 -u cl.pub -r cl.priv -c cl.ctx
step "readpublic createloaded" tpm2_readpublic -c cl.ctx
step "load rsa" tpm2_load -C $P -u rsa.pub -r rsa.priv -c rsa.ctx
step "load ecc" tpm2_load -C $P -u ecc.pub -r ecc.priv -c ecc.ctx
step "load hmac" tpm2_load -C $P -u hmac.pub -r hmac.priv -c hmac.ctx
step "load sealed" tpm2_load -C $P -u seal.pub -r seal.priv -c seal.ctx
step "unseal" tpm2_unseal -c seal.ctx -p sealpw -o unsealed.txt
same "unsealed data matches" secret.txt unsealed.txt
refuse "unseal with a wrong password" tpm2_unseal -c seal.ctx -p wrong
step "readpublic child" tpm2_readpublic -c rsa.ctx
step "flushcontext transient" tpm2_flushcontext -t

# A session salted with a TPM key (the salt is decrypted with object_decrypt_secret).
step "salted session (rsa key)" sh -c 'tpm2_startauthsession --hmac-session -S ss.ctx -c prim_rsa2048.ctx && tpm2_unseal -c seal.ctx -p session:ss.ctx+sealpw -o /dev/null; rc=$?; tpm2_flushcontext ss.ctx; exit $rc'
step "salted session (ecc key)" sh -c 'tpm2_startauthsession --hmac-session -S ss.ctx -c prim_ecc256.ctx && tpm2_unseal -c seal.ctx -p session:ss.ctx+sealpw -o /dev/null; rc=$?; tpm2_flushcontext ss.ctx; exit $rc'

# Change an object's authValue, then unseal with the new one.
step "changeauth sealed" tpm2_changeauth -c seal.ctx -C $P -p sealpw -r seal2.priv newpw
step "load with new auth" tpm2_load -C $P -u seal.pub -r seal2.priv -c seal2.ctx
step "unseal with new auth" tpm2_unseal -c seal2.ctx -p newpw -o unsealed2.txt
same "unsealed data after changeauth" secret.txt unsealed2.txt

# A blob altered by one bit does not load.
cp rsa.priv bad.priv
printf '\001' | dd of=bad.priv bs=1 seek=40 conv=notrunc 2>/dev/null
refuse "load a tampered private blob" tpm2_load -C $P -u rsa.pub -r bad.priv -c bad.ctx
# Under another parent (the RSA primary) the blob does not load either.
refuse "load under the wrong parent" tpm2_load -C prim_rsa2048.ctx -u rsa.pub -r rsa.priv -c bad.ctx

# Persistent handles survive a restart (each tool is a new process) and can be evicted.
step "evictcontrol persist" tpm2_evictcontrol -C o -c $P 0x81000001
step "getcap persistent" sh -c 'tpm2_getcap handles-persistent | grep -qi 0x81000001'
step "create under persistent parent" tpm2_create -C 0x81000001 -u p.pub -r p.priv -i secret.txt
step "load under persistent parent" tpm2_load -C 0x81000001 -u p.pub -r p.priv -c p.ctx
step "unseal under persistent parent" tpm2_unseal -c p.ctx -o p.txt
same "unsealed (persistent parent)" secret.txt p.txt
step "evictcontrol evict" tpm2_evictcontrol -C o -c 0x81000001
refuse "persistent handle gone" tpm2_readpublic -c 0x81000001

# External keys: public only, and public + private; import of an external key.
step "openssl genpkey rsa" openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ext.pem
step "openssl pubout" openssl pkey -in ext.pem -pubout -out ext_pub.pem
step "loadexternal public" tpm2_loadexternal -C n -G rsa -u ext_pub.pem -c extpub.ctx
step "loadexternal private" tpm2_loadexternal -C n -G rsa -r ext.pem -c extpriv.ctx
step "import rsa" tpm2_import -C prim_rsa2048.ctx -G rsa -i ext.pem -u imp.pub -r imp.priv
step "load imported" tpm2_load -C prim_rsa2048.ctx -u imp.pub -r imp.priv -c imp.ctx
step "openssl genpkey ecc" openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ecx.pem
step "import ecc" tpm2_import -C prim_ecc256.ctx -G ecc -i ecx.pem -u impe.pub -r impe.priv
step "load imported ecc" tpm2_load -C prim_ecc256.ctx -u impe.pub -r impe.priv -c impe.ctx

# Duplicate an object (policy: PolicyDuplicationSelect / PolicyCommandCode) to a new parent.
step "new parent public" tpm2_readpublic -c prim_rsa2048.ctx -o newparent.pub
step "policy duplicate" sh -c 'tpm2_startauthsession -S s.ctx && tpm2_policycommandcode -S s.ctx -L dpol.dat TPM2_CC_Duplicate && tpm2_flushcontext s.ctx'
step "create duplicable" tpm2_create -C $P -G rsa2048 -L dpol.dat -a "sensitivedataorigin|userwithauth|decrypt|sign" -u dk.pub -r dk.priv
step "load duplicable" tpm2_load -C $P -u dk.pub -r dk.priv -c dk.ctx
step "loadexternal new parent" tpm2_loadexternal -C o -u newparent.pub -c np.ctx
step "duplicate" sh -c 'tpm2_startauthsession --policy-session -S s.ctx && tpm2_policycommandcode -S s.ctx TPM2_CC_Duplicate && tpm2_duplicate -C np.ctx -c dk.ctx -G null -p session:s.ctx -r dup.priv -s dup.seed; rc=$?; tpm2_flushcontext s.ctx; exit $rc'
step "import duplicate" tpm2_import -C prim_rsa2048.ctx -u dk.pub -i dup.priv -r dki.priv -s dup.seed
step "load duplicated" tpm2_load -C prim_rsa2048.ctx -u dk.pub -r dki.priv -c dki.ctx

# Credentials: EK and AK, makecredential (in the TPM) and activatecredential.
step "createek rsa" tpm2_createek -c ek.ctx -G rsa -u ek.pub
step "createek ecc" tpm2_createek -c ekecc.ctx -G ecc -u ekecc.pub
step "createak" tpm2_createak -C ek.ctx -c ak.ctx -G rsa -g sha256 -s rsassa -u ak.pub -n ak.name
echo "my credential" >cred.txt
step "makecredential (tpm)" sh -c "tpm2_loadexternal -C o -u ek.pub -c ekpub.ctx && tpm2_makecredential -T \"\$TPM2TOOLS_TCTI\" -e ek.pub -s cred.txt -n \$(xxd -p -c 256 ak.name) -o mc.out"
step "activatecredential" sh -c 'tpm2_startauthsession --policy-session -S s.ctx && tpm2_policysecret -S s.ctx -c e && tpm2_activatecredential -c ak.ctx -C ek.ctx -i mc.out -o actcred.txt -P session:s.ctx; rc=$?; tpm2_flushcontext s.ctx; exit $rc'
same "activated credential matches" cred.txt actcred.txt
step "makecredential (tools)" sh -c "tpm2_makecredential -T none -e ek.pub -s cred.txt -n \$(xxd -p -c 256 ak.name) -o mc2.out"
step "activatecredential (tools blob)" sh -c 'tpm2_startauthsession --policy-session -S s.ctx && tpm2_policysecret -S s.ctx -c e && tpm2_activatecredential -c ak.ctx -C ek.ctx -i mc2.out -o actcred2.txt -P session:s.ctx; rc=$?; tpm2_flushcontext s.ctx; exit $rc'
same "activated credential (tools blob) matches" cred.txt actcred2.txt

# Clear: a new storage seed; the old storage keys no longer load.
step "clear" tpm2_clear -c p
refuse "old storage key after clear" tpm2_load -C $P -u rsa.pub -r rsa.priv -c x.ctx
step "createprimary after clear" tpm2_createprimary -C o -G rsa2048 -c prim_after.ctx -o prim_after.pub
if cmp -s prim_rsa2048.pub prim_after.pub; then
    FAIL=$((FAIL + 1)); echo "FAIL storage primary unchanged after clear"
else
    PASS=$((PASS + 1)); echo "ok   storage primary changed after clear"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
