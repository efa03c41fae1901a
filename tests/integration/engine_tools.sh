#!/bin/sh
# tpm2-tools (Debian's) against the engine through tpm2-tss's cmd TCTI and tests/tools/tpm_stdio,
# or against vtpmd through the swtpm TCTI (on_vtpmd.sh).
# Each step checks its result, not only its exit code. Usage: engine_tools.sh BUILD_DIR
set -eu
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d)
# the cmd TCTI's server saves its state as it exits, just after the tool: wait for it
trap 'sleep 0.2; rm -rf "$tmp"' EXIT
cd "$tmp"
# VTPM_TCTI (tests/integration/on_vtpmd.sh) points the tools at a running vtpmd instead.
export TPM2TOOLS_TCTI="${VTPM_TCTI:-cmd:$build/tests/tpm_stdio $tmp/state}"
pass=0
ok() { pass=$((pass + 1)); }
fail() { echo "FAIL: $*"; exit 1; }
expect_fail() { if "$@" >/dev/null 2>&1; then fail "should have failed: $*"; fi; ok; }
hex() { xxd -p "$1" | tr -d '\n'; }
py() { python3 -c "$@"; }

tpm2_startup -c || fail startup
ok
# a second Startup answers TPM_RC_INITIALIZE, which tpm2_startup accepts as "already started"
tpm2_startup -c || fail "second startup"
ok
tpm2_selftest -f || fail selftest
tpm2_gettestresult | grep -q "success" || fail gettestresult
ok
n=$(tpm2_getrandom --hex 32 | wc -c)
[ "$n" -eq 64 ] || fail "getrandom gave $n hex digits"
ok
echo entropy | tpm2_stirrandom || fail stirrandom
ok

# PCRs: every bank, known answers computed here with Python's hashlib
tpm2_pcrread sha1:0+sha256:0+sha384:0+sha512:0 | grep -c "0x0000" | grep -q 4 || fail pcrread
tpm2_pcrread sha256:17 | grep -q "0xFFFFFFFF" || fail "pcr17 all ones"
ok
d=$(py "import hashlib;print(hashlib.sha256(b'abc').hexdigest())")
tpm2_pcrextend "4:sha256=$d" || fail pcrextend
want=$(py "import hashlib;print(hashlib.sha256(bytes(32)+hashlib.sha256(b'abc').digest()).hexdigest().upper())")
tpm2_pcrread sha256:4 | grep -q "$want" || fail "pcr4 value"
ok
printf 'event data' > ev
tpm2_pcrevent 16 ev > out || fail pcrevent
grep -q "$(py "import hashlib;print(hashlib.sha384(b'event data').hexdigest())")" out || fail "pcrevent sha384"
want=$(py "import hashlib;print(hashlib.sha1(bytes(20)+hashlib.sha1(b'event data').digest()).hexdigest().upper())")
tpm2_pcrread sha1:16 | grep -q "$want" || fail "pcr16 after event"
tpm2_pcrreset 16 || fail pcrreset
tpm2_pcrread sha1:16 | grep -q "0x0000000000000000000000000000000000000000" || fail "pcr16 reset"
expect_fail tpm2_pcrreset 0
ok

# PCR_Allocate (platform authorization): accepted now, in effect at the next TPM Reset
tpm2_pcrallocate sha1:all+sha256:all+sha384:all > alloc.out || fail pcrallocate
grep -q "sha384: \[ 0, 1" alloc.out || fail "pcrallocate result"
tpm2_pcrallocate sha1:all+sha256:all+sha384:all+sha512:all > /dev/null || fail "pcrallocate back"
ok

# hashing, with a ticket, and through a sequence (input over one buffer)
printf 'hello' > msg
tpm2_hash -g sha256 -C o -o h.bin -t t.bin msg || fail hash
[ "$(hex h.bin)" = "$(py "import hashlib;print(hashlib.sha256(b'hello').hexdigest())")" ] || fail "hash value"
head -c 3000 /dev/urandom > big
tpm2_hash -g sha512 -o hb.bin big || fail "hash sequence"
[ "$(hex hb.bin)" = "$(sha512sum big | cut -d' ' -f1)" ] || fail "sequence value"
ok

# capabilities
for c in algorithms commands pcrs properties-fixed properties-variable ecc-curves handles-permanent handles-pcr handles-transient handles-persistent handles-loaded-session handles-saved-session; do
    tpm2_getcap "$c" > cap.out || fail "getcap $c"
done
tpm2_getcap properties-fixed | grep -A2 TPM2_PT_FAMILY_INDICATOR | grep -q '"2.0"' || fail family
tpm2_getcap commands | grep -q TPM2_CC_PCR_Extend || fail "commands list"
tpm2_getcap handles-permanent | grep -q 0x40000001 || fail "permanent handles"
ok
tpm2_readclock | grep -q "safe: yes" || fail readclock
ok

# hierarchy authorizations (tpm2-tools uses HMAC sessions for these)
for h in owner endorsement lockout platform; do
    tpm2_changeauth -c $h "new$h" || fail "changeauth $h"
    # a wrong lockout password would lock lockoutAuth out: tried last, below
    [ $h = lockout ] || expect_fail tpm2_changeauth -c $h -p wrong x
    tpm2_changeauth -c $h -p "new$h" || fail "changeauth back $h"
done
ok
tpm2_clearcontrol -C l s || fail clearcontrol
expect_fail tpm2_clear
tpm2_clearcontrol -C p c || fail "clearcontrol clear"
tpm2_changeauth -c owner o1
tpm2_clear || fail clear
tpm2_changeauth -c owner o2 || fail "owner auth reset by clear"
ok
tpm2_hierarchycontrol -C p ehEnable clear || fail hierarchycontrol
tpm2_getcap properties-variable | grep -q "ehEnable: *0" || fail "eh disabled"
expect_fail tpm2_hierarchycontrol -C o ehEnable set
ok
tpm2_dictionarylockout -s -n 4 -t 5 -l 6 || fail dictionarylockout
tpm2_getcap properties-variable | grep -q "TPM2_PT_MAX_AUTH_FAIL: 0x4" || fail "max auth fail"
tpm2_dictionarylockout -c || fail "lockout reset"
ok

# sessions and policies: digests checked against Python
tpm2_startauthsession -S t.ctx || fail trial
tpm2_policypcr -S t.ctx -l sha256:0,1 -L pol.bin || fail policypcr
tpm2_flushcontext t.ctx
want=$(py "
import hashlib
H=lambda b: hashlib.sha256(b).digest()
z=bytes(32)
print(H(z+bytes.fromhex('0000017f00000001000b03030000')+H(z+z)).hex())")
[ "$(hex pol.bin)" = "$want" ] || fail "policypcr digest"
ok
tpm2_startauthsession --policy-session -S p.ctx || fail "policy session"
tpm2_policylocality -S p.ctx zero || fail policylocality
tpm2_policyauthvalue -S p.ctx -L pa.bin || fail policyauthvalue
want=$(py "
import hashlib
H=lambda b: hashlib.sha256(b).digest()
l=H(bytes(32)+bytes.fromhex('0000016f01'))
print(H(l+bytes.fromhex('0000016b')).hex())")
[ "$(hex pa.bin)" = "$want" ] || fail "policy chain digest"
tpm2_policyrestart -S p.ctx || fail policyrestart
tpm2_policysecret -S p.ctx -c o o2 -L ps.bin || fail policysecret
want=$(py "
import hashlib
H=lambda b: hashlib.sha256(b).digest()
print(H(H(bytes(32)+bytes.fromhex('0000015140000001'))).hex())")
[ "$(hex ps.bin)" = "$want" ] || fail "policysecret digest"
tpm2_flushcontext p.ctx || fail "flush policy session"
ok
# encrypted sessions: parameter encryption both ways (AES-CFB), tpm2-tools checks the HMACs
tpm2_startauthsession --hmac-session -S e.ctx || fail "hmac session"
tpm2_sessionconfig --enable-encrypt --enable-decrypt e.ctx || fail sessionconfig
n=$(tpm2_getrandom -S e.ctx --hex 16 | wc -c)
[ "$n" -eq 32 ] || fail "getrandom through an encrypting session"
tpm2_flushcontext e.ctx || fail "flush hmac session"
ok
# one wrong lockout password and lockoutAuth is refused even when right (TPM_RC_LOCKOUT)
tpm2_changeauth -c lockout lk
expect_fail tpm2_changeauth -c lockout -p wrong x
tpm2_changeauth -c lockout -p lk x 2>&1 | grep -q 0x921 || fail "lockout after failure"
ok
tpm2_shutdown -c || fail shutdown
ok
echo "engine_tools: $pass checks passed"
