#!/bin/sh
# Signing, encryption and attestation with real tpm2-tools over the cmd TCTI
# (tests/tools/tpm_stdio). Every result is checked outside the TPM: signatures with openssl
# from the exported public key (EC-Schnorr and ECDAA, which openssl does not know, with
# tests/integration/tpmcheck.py), ciphertexts and MACs against openssl with known keys,
# quotes with tpm2_checkquote and openssl.
#   sign_tools.sh BUILD_DIR
# Prints one line per step and "N passed, M failed" at the end; exits non-zero on a failure.
set -u
BUILD=${1:?usage: sign_tools.sh BUILD_DIR}
STDIO=$(cd "$BUILD" && pwd)/tests/tpm_stdio
CHECK="python3 $(cd "$(dirname "$0")" && pwd)/tpmcheck.py"
W=$(mktemp -d /tmp/vtpm-sign.XXXXXX)
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

# A step that must fail (a refused operation); the TPM's answer is shown with -v.
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

# A refusal with a given response code in the tool's output.
refuse_rc() {
    name=$1
    rc=$2
    shift 2
    if timeout 120 "$@" >"$W/out" 2>&1; then
        FAIL=$((FAIL + 1))
        echo "FAIL $name (accepted, should be refused with $rc)"
    elif grep -qi "$rc" "$W/out"; then
        PASS=$((PASS + 1))
        echo "ok   $name (refused: $rc)"
    else
        FAIL=$((FAIL + 1))
        echo "FAIL $name: not refused with $rc"
        sed 's/^/     /' "$W/out" | head -8
    fi
}

# Flip every bit of one byte of a file (a change whatever the byte was): OFFSET from the
# start, or from the end when negative.
flip_byte() {
    python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read())
b[int(sys.argv[2])] ^= 0xFF; open(p, "wb").write(b)' "$1" "$2"
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

echo "the quick brown fox signs the lazy dog" >msg

step startup tpm2_startup -c
step "storage primary" tpm2_createprimary -C o -G ecc256 -c prim.ctx

# ---- Sign and VerifySignature: every scheme, the signature checked with openssl ----
for spec in rsa2048:rsassa rsa2048:rsapss rsa3072:rsassa rsa3072:rsapss; do
    key=${spec%%:*}
    sch=${spec#*:}
    k=$key-$sch
    # ":null": tpm2-tools 5.4 otherwise gives an rsapss key an AES-CFB symmetric definition,
    # which Part 2 §12.2.3.5 allows only for restricted decryption keys (TPM_RC_SYMMETRIC)
    step "create $k" tpm2_create -C prim.ctx -G "$key:$sch-sha256:null" -u $k.pub -r $k.priv
    step "load $k" tpm2_load -C prim.ctx -u $k.pub -r $k.priv -c $k.ctx
    step "export $k" tpm2_readpublic -c $k.ctx -f pem -o $k.pem
    for h in sha256 sha384; do
        # the key's scheme is fixed to SHA-256; SHA-384 must be refused
        if [ $h = sha384 ]; then
            refuse_rc "sign $k $h (not the key's hash)" "scheme" \
                tpm2_sign -c $k.ctx -g $h -s $sch -o $k.$h.sig msg
            continue
        fi
        step "sign $k $h" tpm2_sign -c $k.ctx -g $h -s $sch -f plain -o $k.$h.sig msg
        if [ $sch = rsapss ]; then
            step "openssl verifies $k" openssl dgst -$h -sigopt rsa_padding_mode:pss \
                -sigopt rsa_pss_saltlen:-2 -verify $k.pem -signature $k.$h.sig msg
        else
            step "openssl verifies $k" openssl dgst -$h -verify $k.pem -signature $k.$h.sig msg
        fi
        step "sign $k (tss format)" tpm2_sign -c $k.ctx -g $h -s $sch -o $k.tss msg
        step "verifysignature $k" tpm2_verifysignature -c $k.ctx -g $h -m msg -s $k.tss \
            -t $k.tk
        cp msg msg.bad && echo tampered >>msg.bad
        refuse_rc "verifysignature $k, other message" "signature" \
            tpm2_verifysignature -c $k.ctx -g $h -m msg.bad -s $k.tss
    done
done

for spec in ecc256:sha256 ecc384:sha384; do
    key=${spec%%:*}
    h=${spec#*:}
    step "create $key" tpm2_create -C prim.ctx -G $key -u $key.pub -r $key.priv
    step "load $key" tpm2_load -C prim.ctx -u $key.pub -r $key.priv -c $key.ctx
    step "export $key" tpm2_readpublic -c $key.ctx -f pem -o $key.pem
    step "sign $key ecdsa" tpm2_sign -c $key.ctx -g $h -s ecdsa -f plain -o $key.ecdsa.sig msg
    step "openssl verifies $key ecdsa" openssl dgst -$h -verify $key.pem \
        -signature $key.ecdsa.sig msg
    step "sign $key ecdsa (tss)" tpm2_sign -c $key.ctx -g $h -s ecdsa -o $key.ecdsa.tss msg
    step "verifysignature $key ecdsa" tpm2_verifysignature -c $key.ctx -g $h -m msg \
        -s $key.ecdsa.tss
    step "sign $key ecschnorr" tpm2_sign -c $key.ctx -g $h -s ecschnorr -o $key.sch.tss msg
    step "tpmcheck verifies $key ecschnorr" $CHECK schnorr $key.pem $key.sch.tss msg
    step "verifysignature $key ecschnorr" tpm2_verifysignature -c $key.ctx -g $h -m msg \
        -s $key.sch.tss
    refuse_rc "verifysignature $key ecschnorr, other message" "signature" \
        tpm2_verifysignature -c $key.ctx -g $h -m msg.bad -s $key.sch.tss
    refuse_rc "sign $key with rsassa" "scheme" \
        tpm2_sign -c $key.ctx -g $h -s rsassa -o x.sig msg
done

# HMAC: a known key (imported), signatures and MACs checked with openssl
printf 'Jefe' >hkey.bin
step "import hmac key" tpm2_import -C prim.ctx -G hmac -i hkey.bin -u hk.pub -r hk.priv
step "load hmac key" tpm2_load -C prim.ctx -u hk.pub -r hk.priv -c hk.ctx
step "sign hmac" tpm2_sign -c hk.ctx -g sha256 -o hm.tss msg
openssl dgst -sha256 -binary msg >msg.sha256
openssl dgst -sha256 -mac hmac -macopt key:Jefe -binary msg.sha256 >hm.want
tail -c 32 hm.tss >hm.got
same "hmac signature = openssl HMAC(key, digest)" hm.want hm.got
step "verifysignature hmac" tpm2_verifysignature -c hk.ctx -g sha256 -m msg -s hm.tss
printf 'what do ya want for nothing?' >rfc4231
step "hmac (RFC 4231 case 2)" tpm2_hmac -c hk.ctx -g sha256 -o rfc.mac rfc4231
echo 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843 | xxd -r -p >rfc.want
same "hmac = RFC 4231" rfc.mac rfc.want
head -c 5000 /dev/urandom >big.bin
step "hmac of 5000 bytes (HMAC_Start and a sequence)" tpm2_hmac -c hk.ctx -g sha256 -o big.mac \
    big.bin
openssl dgst -sha256 -mac hmac -macopt key:Jefe -binary big.bin >big.want
same "sequence hmac = openssl" big.mac big.want

# Hash and hash-check tickets; restricted keys sign only what the TPM hashed
step "hash" tpm2_hash -C o -g sha256 -o msg.dgst -t msg.tk msg
same "hash = openssl" msg.dgst msg.sha256
step "hash of 5000 bytes (sequence)" tpm2_hash -C o -g sha256 -o big.dgst -t big.tk big.bin
openssl dgst -sha256 -binary big.bin >big.sha256
same "sequence hash = openssl" big.dgst big.sha256
step "createek" tpm2_createek -c ek.ctx -G rsa -u ek.pub
step "createak rsa" tpm2_createak -C ek.ctx -c ak.ctx -G rsa -g sha256 -s rsassa -u ak.pub \
    -n ak.name -f pem -p akpw
step "createak ecc" tpm2_createak -C ek.ctx -c akecc.ctx -G ecc -g sha256 -s ecdsa \
    -u akecc.pub -n akecc.name -f pem
tpm2_readpublic -c ak.ctx -f pem -o ak.pem >/dev/null 2>&1
tpm2_readpublic -c akecc.ctx -f pem -o akecc.pem >/dev/null 2>&1
step "restricted key signs a TPM digest with its ticket" tpm2_sign -c ak.ctx -p akpw -g sha256 \
    -d -t big.tk -f plain -o ak.sig big.dgst
step "openssl verifies it" openssl dgst -sha256 -verify ak.pem -signature ak.sig big.bin
refuse_rc "restricted key, external digest" "ticket" \
    tpm2_sign -c ak.ctx -p akpw -g sha256 -d -o x.sig msg.sha256
cp big.tk bad.tk
flip_byte bad.tk -1
refuse_rc "restricted key, altered ticket" "ticket" \
    tpm2_sign -c ak.ctx -p akpw -g sha256 -d -t bad.tk -o x.sig big.dgst
step "hash in the endorsement hierarchy" tpm2_hash -C e -g sha256 -o e.dgst -t e.tk big.bin
step "its ticket is good as it is" tpm2_sign -c ak.ctx -p akpw -g sha256 -d -t e.tk -o x.sig \
    e.dgst
cp e.tk other.tk
printf '\001' | dd of=other.tk bs=1 seek=5 conv=notrunc 2>/dev/null # hierarchy -> owner
refuse_rc "restricted key, ticket renamed to another hierarchy" "ticket" \
    tpm2_sign -c ak.ctx -p akpw -g sha256 -d -t other.tk -o x.sig big.dgst
printf '\377TCG\200\030forged attestation' >forged
step "hash of data starting with TPM_GENERATED" tpm2_hash -C o -g sha256 -o f.dgst -t f.tk forged
refuse_rc "restricted key signs no TPM_GENERATED data" "ticket" \
    tpm2_sign -c ak.ctx -p akpw -g sha256 -d -t f.tk -o x.sig f.dgst

# VerifySignature's ticket satisfies PolicyAuthorize: a sealed object opened by an
# authorized PCR policy, signed outside the TPM
step "authority key" openssl genrsa -out auth.priv 2048
step "authority public key" openssl rsa -in auth.priv -pubout -out auth.pem
step "loadexternal authority" tpm2_loadexternal -C o -G rsa -u auth.pem -c auth.ctx -n auth.name
step "trial policyauthorize" sh -c 'tpm2_startauthsession -S t.ctx &&
    tpm2_policyauthorize -S t.ctx -L authorized.policy -n auth.name &&
    tpm2_flushcontext t.ctx'
echo "sealed by an authorized policy" >secret
step "create sealed object" tpm2_create -C prim.ctx -L authorized.policy -i secret \
    -u seal.pub -r seal.priv -a "fixedtpm|fixedparent"
step "load sealed object" tpm2_load -C prim.ctx -u seal.pub -r seal.priv -c seal.ctx
step "trial policypcr" sh -c 'tpm2_startauthsession -S t.ctx &&
    tpm2_policypcr -S t.ctx -l sha256:0 -L pcr.policy && tpm2_flushcontext t.ctx'
step "authority signs the PCR policy" openssl dgst -sha256 -sign auth.priv -out pcr.sig \
    pcr.policy
step "verifysignature gives a ticket" tpm2_verifysignature -c auth.ctx -g sha256 -m pcr.policy \
    -s pcr.sig -f rsassa -t verified.tk
step "unseal with policypcr + policyauthorize" sh -c 'tpm2_startauthsession --policy-session \
    -S p.ctx && tpm2_policypcr -S p.ctx -l sha256:0 &&
    tpm2_policyauthorize -S p.ctx -i pcr.policy -n auth.name -t verified.tk &&
    tpm2_unseal -p session:p.ctx -c seal.ctx -o unsealed; rc=$?; tpm2_flushcontext p.ctx; exit $rc'
same "unsealed = sealed" secret unsealed
cp verified.tk bad.vtk
flip_byte bad.vtk -1
refuse "policyauthorize with an altered ticket" sh -c 'tpm2_startauthsession --policy-session \
    -S p.ctx && tpm2_policypcr -S p.ctx -l sha256:0 &&
    tpm2_policyauthorize -S p.ctx -i pcr.policy -n auth.name -t bad.vtk; rc=$?;
    tpm2_flushcontext p.ctx; exit $rc'

# ECDAA: commit, then sign; [s]G = E + [T]Q checked by tpmcheck
step "create ecdaa key" tpm2_create -C prim.ctx -G ecc256:ecdaa -u daa.pub -r daa.priv
step "load ecdaa key" tpm2_load -C prim.ctx -u daa.pub -r daa.priv -c daa.ctx
tpm2_readpublic -c daa.ctx -f pem -o daa.pem >/dev/null 2>&1
step "commit" tpm2_commit -c daa.ctx -t commit.ctr --eccpoint-K K.bin --eccpoint-L L.bin -u E.bin
step "sign ecdaa" sh -c 'tpm2_sign -c daa.ctx -g sha256 -s ecdaa \
    --commit-index=$((0x$(xxd -p commit.ctr))) -o daa.sig msg'
step "tpmcheck verifies ecdaa" $CHECK ecdaa daa.pem daa.sig E.bin msg
refuse "a commit signs once" sh -c 'tpm2_sign -c daa.ctx -g sha256 -s ecdaa \
    --commit-index=$((0x$(xxd -p commit.ctr))) -o daa2.sig msg'

# ---- RSA_Encrypt / RSA_Decrypt ----
step "create rsa decrypt key" tpm2_create -C prim.ctx -G rsa2048:null \
    -a "decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth" -u dk.pub -r dk.priv
step "load rsa decrypt key" tpm2_load -C prim.ctx -u dk.pub -r dk.priv -c dk.ctx
tpm2_readpublic -c dk.ctx -f pem -o dk.pem >/dev/null 2>&1
echo "a message for the TPM" >plain
for s in oaep rsaes; do
    step "rsaencrypt $s" tpm2_rsaencrypt -c dk.ctx -s $s -o ct.$s plain
    step "rsadecrypt $s" tpm2_rsadecrypt -c dk.ctx -s $s -o pt.$s ct.$s
    same "rsa $s round trip" plain pt.$s
done
step "rsaencrypt oaep with a label" tpm2_rsaencrypt -c dk.ctx -s oaep -l mylabel -o ct.l plain
step "rsadecrypt oaep with the label" tpm2_rsadecrypt -c dk.ctx -s oaep -l mylabel -o pt.l ct.l
same "labelled round trip" plain pt.l
refuse_rc "rsadecrypt with another label" "value" \
    tpm2_rsadecrypt -c dk.ctx -s oaep -l other -o x ct.l
step "openssl encrypts (OAEP-SHA256)" openssl pkeyutl -encrypt -pubin -inkey dk.pem \
    -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 \
    -in plain -out ct.ossl
step "rsadecrypt openssl's ciphertext" tpm2_rsadecrypt -c dk.ctx -s oaep -o pt.ossl ct.ossl
same "openssl -> TPM round trip" plain pt.ossl
step "openssl encrypts (PKCS#1 v1.5)" openssl pkeyutl -encrypt -pubin -inkey dk.pem \
    -pkeyopt rsa_padding_mode:pkcs1 -in plain -out ct.pk1
step "rsadecrypt it (rsaes)" tpm2_rsadecrypt -c dk.ctx -s rsaes -o pt.pk1 ct.pk1
same "openssl PKCS#1 -> TPM" plain pt.pk1
flip_byte ct.pk1 100
refuse_rc "rsadecrypt a damaged ciphertext" "value" \
    tpm2_rsadecrypt -c dk.ctx -s rsaes -o x ct.pk1
refuse_rc "rsadecrypt with a signing key" "attributes" \
    tpm2_rsadecrypt -c rsa2048-rsassa.ctx -s oaep -o x ct.oaep

# ---- EncryptDecrypt(2): each mode against openssl with the same key ----
head -c 16 /dev/urandom >aes.key
step "loadexternal aes-128 key" tpm2_loadexternal -G aes -r aes.key -c aes.ctx
head -c 96 /dev/urandom >data96
head -c 16 /dev/urandom >iv.bin
for m in cfb cbc ctr ofb ecb; do
    ivopt="-t iv.bin"
    oiv="-iv $(xxd -p iv.bin)"
    if [ $m = ecb ]; then
        ivopt=""
        oiv=""
    fi
    # shellcheck disable=SC2086
    step "encryptdecrypt $m" tpm2_encryptdecrypt -c aes.ctx -G $m $ivopt -o enc.$m data96
    # shellcheck disable=SC2086
    openssl enc -aes-128-$m -K "$(xxd -p aes.key)" $oiv -nopad -in data96 -out want.$m
    same "encryptdecrypt $m = openssl" enc.$m want.$m
    # shellcheck disable=SC2086
    step "encryptdecrypt -d $m" tpm2_encryptdecrypt -c aes.ctx -G $m $ivopt -d -o dec.$m enc.$m
    same "decrypted $m" dec.$m data96
done
head -c 17 /dev/urandom >data17
refuse_rc "encryptdecrypt cbc of a partial block" "size" \
    tpm2_encryptdecrypt -c aes.ctx -G cbc -t iv.bin -o x data17

# ---- ECDH, ephemeral keys, two-phase exchange ----
$CHECK eckey peer.pem peer.pt
$CHECK eckey mine.pem mine.pt
step "loadexternal ecdh key" tpm2_loadexternal -C n -G ecc -r mine.pem -a "decrypt|userwithauth" \
    -c mine.ctx
step "ecdhkeygen" tpm2_ecdhkeygen -c mine.ctx -u Q.bin -o Z.bin
step "tpmcheck: Z = [d]Q" $CHECK ecdh mine.pem Q.bin Z.bin
step "ecdhzgen" tpm2_ecdhzgen -c mine.ctx -u peer.pt -o Zp.bin
step "tpmcheck: Z = [d_peer]Q_mine" $CHECK ecdh peer.pem mine.pt Zp.bin
step "ecdhzgen of the keygen point" tpm2_ecdhzgen -c mine.ctx -u Q.bin -o Z2.bin
same "ecdhzgen = ecdhkeygen" Z.bin Z2.bin
step "ecephemeral" tpm2_ecephemeral -u eph.Q -t eph.ctr ecc256
$CHECK eckey peer_e.pem peer_e.pt
step "zgen2phase" sh -c 'tpm2_zgen2phase -c mine.ctx --static-public peer.pt \
    --ephemeral-public peer_e.pt -t $((0x$(xxd -p eph.ctr))) --output-Z1 z1.bin --output-Z2 z2.bin'
step "tpmcheck: Z1 = [dsB]QsA" $CHECK ecdh peer.pem mine.pt z1.bin
step "tpmcheck: Z2 = [deB]QeA" $CHECK ecdh peer_e.pem eph.Q z2.bin
refuse "zgen2phase reuses no ephemeral key" sh -c 'tpm2_zgen2phase -c mine.ctx \
    --static-public peer.pt --ephemeral-public peer_e.pt -t $((0x$(xxd -p eph.ctr))) \
    --output-Z1 z1.bin --output-Z2 z2.bin'

# ---- attestation ----
tpm2_pcrextend 7:sha256=$(openssl dgst -sha256 msg | cut -d' ' -f2) >/dev/null 2>&1
for ak in ak:akpw akecc:; do
    a=${ak%%:*}
    pw=${ak#*:}
    auth=""
    [ -n "$pw" ] && auth="-p $pw"
    # shellcheck disable=SC2086
    step "quote $a (8 PCRs, nonce)" tpm2_quote -c $a.ctx $auth -l sha256:0,1,2,3,4,5,6,7 \
        -q 1a2b3c4d5e6f -m $a.quote -s $a.qsig -o $a.pcrs -g sha256
    step "checkquote $a" tpm2_checkquote -u $a.pub -m $a.quote -s $a.qsig -f $a.pcrs -g sha256 \
        -q 1a2b3c4d5e6f
    refuse "checkquote $a with another nonce" tpm2_checkquote -u $a.pub -m $a.quote -s $a.qsig \
        -f $a.pcrs -g sha256 -q 1a2b3c4d5e70
    # shellcheck disable=SC2086
    step "quote $a (plain signature)" tpm2_quote -c $a.ctx $auth -l sha256:0,7 -q 99 \
        -m $a.q2 -s $a.q2sig -f plain -g sha256
    step "openssl verifies the quote of $a" openssl dgst -sha256 -verify $a.pem \
        -signature $a.q2sig $a.q2
    step "quote $a is a TPMS_ATTEST of type QUOTE" $CHECK attest $a.q2 0x8018
done

step "quote over two banks" tpm2_quote -c akecc.ctx -l sha1:0,7+sha256:0,1,2,3,4,5,6,7 -q 77 \
    -m two.quote -s two.qsig -o two.pcrs -g sha256
step "checkquote over two banks" tpm2_checkquote -u akecc.pub -m two.quote -s two.qsig \
    -f two.pcrs -g sha256 -q 77

step "certify" tpm2_certify -C ak.ctx -p akpw -c ecc256.ctx -g sha256 -o cert.att -s cert.sig \
    -f plain
tpm2_readpublic -c ecc256.ctx -n ecc256.name >/dev/null 2>&1
step "openssl verifies certify" openssl dgst -sha256 -verify ak.pem -signature cert.sig cert.att
step "certify names the object" $CHECK attest cert.att 0x8017 ecc256.name

step "create with creation data" tpm2_create -C prim.ctx -G ecc256 -u cc.pub -r cc.priv \
    --creation-data cc.data --creation-ticket cc.tk --creation-hash cc.hash
step "load it" tpm2_load -C prim.ctx -u cc.pub -r cc.priv -c cc.ctx -n cc.name
step "certifycreation" tpm2_certifycreation -C akecc.ctx -c cc.ctx -d cc.hash -t cc.tk \
    -g sha256 -o cc.sig -f plain --attestation cc.att
step "openssl verifies certifycreation" openssl dgst -sha256 -verify akecc.pem \
    -signature cc.sig cc.att
step "certifycreation names the object" $CHECK attest cc.att 0x801A cc.name
cp cc.tk cc.badtk
flip_byte cc.badtk -1
refuse_rc "certifycreation with an altered ticket" "ticket" tpm2_certifycreation -C akecc.ctx \
    -c cc.ctx -d cc.hash -t cc.badtk -g sha256 -o x.sig --attestation x.att

step "nvdefine" tpm2_nvdefine -C o -s 64 -a "ownerread|ownerwrite|authread|authwrite" 0x1500016
head -c 64 /dev/urandom >nv.data
step "nvwrite" tpm2_nvwrite -C o -i nv.data 0x1500016
step "nvreadpublic (Name)" sh -c 'tpm2_nvreadpublic 0x1500016 | sed -n "s/^ *name: //p" |
    xxd -r -p >nv.name && test -s nv.name'
step "nvcertify 32 bytes at 16" tpm2_nvcertify -C akecc.ctx -c o -g sha256 -f plain \
    -o nv.sig --attestation nv.att --size 32 --offset 16 -q 0badcafe 0x1500016
step "openssl verifies nvcertify" openssl dgst -sha256 -verify akecc.pem -signature nv.sig \
    nv.att
echo 0badcafe | xxd -r -p >nv.q
step "nvcertify is a TPMS_ATTEST of type NV naming the index" $CHECK attest nv.att 0x8014 \
    nv.name nv.q
tail -c 32 nv.att >nv.got
dd if=nv.data of=nv.want bs=1 skip=16 count=32 2>/dev/null
same "nvcertify carries the index's bytes" nv.got nv.want
step "nvdefine without ownerread" tpm2_nvdefine -C o -s 8 -a "authread|authwrite" 0x1500017
step "nvwrite it" sh -c 'printf 12345678 | tpm2_nvwrite -C 0x1500017 -i - 0x1500017'
refuse_rc "nvcertify by the owner of an index without ownerread" "authorization" \
    tpm2_nvcertify -C akecc.ctx -c o -g sha256 -o x.sig --attestation x.att --size 8 0x1500017
step "nvcertify by the index's own authorization" tpm2_nvcertify -C akecc.ctx -c 0x1500017 \
    -g sha256 -o x.sig --attestation x.att --size 8 0x1500017

step "gettime" tpm2_gettime -c akecc.ctx -o time.sig -f plain --attestation time.att -q 0102
step "openssl verifies gettime" openssl dgst -sha256 -verify akecc.pem -signature time.sig \
    time.att
step "gettime is a TPMS_ATTEST of type TIME" $CHECK attest time.att 0x8019

step "audit session" tpm2_startauthsession -S audit.ctx --audit-session
step "audited getrandom" tpm2_getrandom 16 -S audit.ctx -o rnd
step "getsessionauditdigest" tpm2_getsessionauditdigest -c akecc.ctx -g sha256 -m sad.att \
    -s sad.sig -f plain -S audit.ctx
step "openssl verifies getsessionauditdigest" openssl dgst -sha256 -verify akecc.pem \
    -signature sad.sig sad.att
step "it is of type SESSION_AUDIT" $CHECK attest sad.att 0x8016
tpm2_flushcontext audit.ctx >/dev/null 2>&1

step "setcommandauditstatus" tpm2_setcommandauditstatus -g sha256 TPM2_CC_GetRandom
step "audited getrandom (command audit)" tpm2_getrandom 8 -o rnd
step "getcommandauditdigest" tpm2_getcommandauditdigest -c akecc.ctx -g sha256 -m cad.att \
    -s cad.sig -f plain
step "openssl verifies getcommandauditdigest" openssl dgst -sha256 -verify akecc.pem \
    -signature cad.sig cad.att
step "it is of type COMMAND_AUDIT" $CHECK attest cad.att 0x8015

# ---- the clock ----
step "readclock" sh -c 'tpm2_readclock >clock1'
c1=$(sed -n 's/^ *clock: //p' clock1)
target=$((c1 + 100000000))
step "setclock forward" tpm2_setclock $target
step "readclock after setclock" sh -c 'tpm2_readclock >clock2'
c2=$(sed -n 's/^ *clock: //p' clock2)
if [ "${c2:-0}" -ge $target ]; then
    PASS=$((PASS + 1))
    echo "ok   clock moved to $c2 (>= $target)"
else
    FAIL=$((FAIL + 1))
    echo "FAIL clock is ${c2:-?}, expected >= $target"
fi
refuse_rc "setclock backwards" "value" tpm2_setclock $c1
step "clockrateadjust slower" tpm2_clockrateadjust s
step "clockrateadjust faster" tpm2_clockrateadjust ff
refuse "clockrateadjust with a bad argument" tpm2_clockrateadjust x

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
