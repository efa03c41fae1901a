#!/bin/sh
# NV indices with Debian's tpm2-tools against the engine, through tpm2-tss's cmd TCTI and
# tests/tools/tpm_stdio (one process per tool: each tool is a restart of the host). Every step
# checks its result, not only the exit code; values are computed here with Python's hashlib.
# A power cycle is tpm2_shutdown, then removing the volatile state (what RAM held), then
# tpm2_startup; a crash is the same without the shutdown. Usage: nv_tools.sh BUILD_DIR
set -eu
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d)
trap 'flock "$tmp/lock" true; rm -rf "$tmp"' EXIT
cd "$tmp"
# The cmd TCTI does not wait for its server: the server of one tool may still be saving the
# state as the next tool starts its own. A lock held for each server's life orders them, so
# each tool sees the state the previous one left (and a "power cycle" really loses RAM).
export TPM2TOOLS_TCTI="cmd:flock $tmp/lock $build/tests/tpm_stdio $tmp/state"
pass=0
ok() { pass=$((pass + 1)); }
fail() { echo "FAIL: $*"; exit 1; }
expect_fail() { if "$@" >/dev/null 2>&1; then fail "should have failed: $*"; fi; ok; }
# the TPM refused with this response code (as ESYS reports it)
expect_rc() {
    rc=$1
    shift
    if "$@" >/dev/null 2>err.txt; then fail "should have failed with $rc: $*"; fi
    grep -q "ErrorCode ($(printf 0x%08x "$rc"))" err.txt || fail "$* answered $(grep -o 'ErrorCode (0x[0-9a-f]*)' err.txt | head -1), not $rc"
    ok
}
hex() { xxd -p "$1" | tr -d '\n'; }
py() { python3 -c "$@"; }
lose_ram() { flock "$tmp/lock" rm -f state.vol; }
power_cycle() { tpm2_shutdown ${1:-} >/dev/null || fail shutdown; lose_ram; tpm2_startup -c >/dev/null || fail startup; }
crash() { lose_ram; tpm2_startup -c >/dev/null || fail "startup after crash"; }
nvhex() { tpm2_nvread "$@" -o nv.out >/dev/null 2>&1 || return 1; hex nv.out; }
# nameAlg || sha256(TPMS_NV_PUBLIC) for a sha256 index without a policy
name_of() { py "import hashlib,struct;print('000b'+hashlib.sha256(struct.pack('>IHIHH',$1,0xB,$2,0,$3)).hexdigest())"; }

tpm2_startup -c || fail startup
tpm2_getcap properties-fixed > fixed.txt
grep -A1 TPM2_PT_NV_INDEX_MAX fixed.txt | grep -q "raw: 0x1000" || fail "NV_INDEX_MAX"
grep -A1 TPM2_PT_NV_BUFFER_MAX fixed.txt | grep -q "raw: 0x400" || fail "NV_BUFFER_MAX"
ok

# ordinary index, owner and authValue both read and write; larger than one NV buffer
tpm2_nvdefine 0x1500001 -C o -s 3000 -a "ownerread|ownerwrite|authread|authwrite" -p idxpw >/dev/null || fail nvdefine
head -c 3000 /dev/urandom > big
# the tool takes at most 2048 bytes at a time and cuts them into TPM_PT_NV_BUFFER_MAX pieces
head -c 2048 big > big1
tail -c 952 big > big2
tpm2_nvwrite 0x1500001 -C o -i big1 || fail "nvwrite over two buffers"
tpm2_nvwrite 0x1500001 -C o -i big2 --offset 2048 || fail "nvwrite of the rest at an offset"
[ "$(nvhex 0x1500001 -C o)" = "$(hex big)" ] || fail "nvread of the whole index"
ok
printf 'hello' > small
tpm2_nvwrite 0x1500001 -P idxpw -i small --offset 1500 || fail "nvwrite at an offset with the index auth"
[ "$(nvhex 0x1500001 -P idxpw -s 5 --offset 1500)" = "$(hex small)" ] || fail "nvread at an offset"
[ "$(nvhex 0x1500001 -C o -s 10 --offset 1495)" = "$(dd if=big bs=1 skip=1495 count=5 2>/dev/null | xxd -p)68656c6c6f" ] || fail "neighbours of the write"
# (tpm2-tools refuses these two itself, from the size it read with NV_ReadPublic)
expect_fail tpm2_nvwrite 0x1500001 -C o -i small --offset 2999
expect_fail tpm2_nvread 0x1500001 -C o -s 2 --offset 2999
expect_rc 0x98e tpm2_nvread 0x1500001 -P wrong -s 5
expect_rc 0x14c tpm2_nvdefine 0x1500001 -C o -s 8 -a "ownerread|ownerwrite"
ok
# through an HMAC session that encrypts the data both ways (AES-CFB)
tpm2_startauthsession --hmac-session -S e.ctx && tpm2_sessionconfig --enable-encrypt --enable-decrypt e.ctx >/dev/null || fail "encrypting session"
tpm2_nvwrite 0x1500001 -P idxpw -S e.ctx -i small --offset 100 || fail "nvwrite, data encrypted"
[ "$(nvhex 0x1500001 -P idxpw -S e.ctx -s 5 --offset 100)" = "$(hex small)" ] || fail "nvread, data encrypted"
tpm2_flushcontext e.ctx || fail "flush encrypting session"
ok
# its public area and Name
tpm2_nvreadpublic 0x1500001 > pub.txt || fail nvreadpublic
grep -q "value: 0x20060006" pub.txt || fail "attributes (written)"
grep -q "size: 3000" pub.txt || fail "size"
grep -q "name: $(name_of 0x01500001 0x20060006 3000)" pub.txt || fail "Name of the index"
ok

# counters: plain and orderly, across restarts, power cycles and crashes
tpm2_nvdefine 0x1500002 -C o -a "ownerread|ownerwrite|nt=counter" >/dev/null || fail "define counter"
tpm2_nvdefine 0x1500003 -C o -a "ownerread|ownerwrite|nt=counter|orderly" >/dev/null || fail "define orderly counter"
for i in 1 2 3; do tpm2_nvincrement -C o 0x1500002 || fail nvincrement; done
[ "$(nvhex 0x1500002 -C o)" = 0000000000000003 ] || fail "counter value"
power_cycle
[ "$(nvhex 0x1500002 -C o)" = 0000000000000003 ] || fail "counter after a power cycle"
crash
[ "$(nvhex 0x1500002 -C o)" = 0000000000000003 ] || fail "counter after a crash"
for i in 1 2 3 4 5; do tpm2_nvincrement -C o 0x1500003 || fail "nvincrement orderly"; done
[ "$(nvhex 0x1500003 -C o)" = 0000000000000008 ] || fail "orderly counter starts above the other"
power_cycle
[ "$(nvhex 0x1500003 -C o)" = 0000000000000008 ] || fail "orderly counter after an orderly shutdown"
tpm2_nvincrement -C o 0x1500003
crash
v=$(nvhex 0x1500003 -C o)
[ "$v" = 00000000000000ff ] || fail "orderly counter after a crash: $v (never below 9)"
tpm2_nvincrement -C o 0x1500003
[ "$(nvhex 0x1500003 -C o)" = 0000000000000100 ] || fail "orderly counter into a new block"
expect_rc 0x82 tpm2_nvwrite 0x1500002 -C o -i small
ok

# bit field and extend index
tpm2_nvdefine 0x1500004 -C o -a "ownerread|ownerwrite|nt=bits" >/dev/null || fail "define bits"
tpm2_nvsetbits -C o -i 0x5 0x1500004 || fail nvsetbits
tpm2_nvsetbits -C o -i 0x8000000000000100 0x1500004 || fail "nvsetbits again"
[ "$(nvhex 0x1500004 -C o)" = 8000000000000105 ] || fail "bits value"
tpm2_nvdefine 0x1500005 -C o -s 32 -a "ownerread|ownerwrite|nt=extend" >/dev/null || fail "define extend"
printf 'abc' > e1
printf 'defg' > e2
tpm2_nvextend -C o -i e1 0x1500005 || fail nvextend
tpm2_nvextend -C o -i e2 0x1500005 || fail "nvextend again"
want=$(py "import hashlib;h=lambda b:hashlib.sha256(b).digest();print(h(h(bytes(32)+b'abc')+b'defg').hex())")
[ "$(nvhex 0x1500005 -C o)" = "$want" ] || fail "extend value"
expect_rc 0x282 tpm2_nvincrement -C o 0x1500005
ok

# write locks (WRITEDEFINE survives a Startup(CLEAR), WRITE_STCLEAR does not), read locks
tpm2_nvdefine 0x1500006 -C o -s 8 -a "ownerread|ownerwrite|writedefine" >/dev/null || fail "define writedefine"
tpm2_nvdefine 0x1500007 -C o -s 8 -a "ownerread|ownerwrite|write_stclear" >/dev/null || fail "define write_stclear"
tpm2_nvdefine 0x1500008 -C o -s 8 -a "ownerread|ownerwrite|read_stclear" >/dev/null || fail "define read_stclear"
printf '12345678' > eight
for i in 6 7 8; do tpm2_nvwrite 0x150000$i -C o -i eight || fail "write $i"; done
expect_rc 0x282 tpm2_nvwritelock -C o 0x1500008
tpm2_nvwritelock -C o 0x1500006 || fail nvwritelock
tpm2_nvwritelock -C o 0x1500007 || fail "nvwritelock stclear"
tpm2_nvreadlock -C o 0x1500008 || fail nvreadlock
expect_rc 0x148 tpm2_nvwrite 0x1500006 -C o -i eight
expect_rc 0x148 tpm2_nvwrite 0x1500007 -C o -i eight
expect_rc 0x148 tpm2_nvread 0x1500008 -C o
tpm2_nvreadpublic 0x1500006 | grep -q writelocked || fail "WRITELOCKED shown"
power_cycle
expect_rc 0x148 tpm2_nvwrite 0x1500006 -C o -i eight
tpm2_nvwrite 0x1500007 -C o -i eight || fail "write_stclear lock after Startup(CLEAR)"
[ "$(nvhex 0x1500008 -C o)" = "$(hex eight)" ] || fail "read lock after Startup(CLEAR)"
ok
# a Resume keeps the locks
tpm2_nvwritelock -C o 0x1500007 || fail "nvwritelock again"
tpm2_nvreadlock -C o 0x1500008 || fail "nvreadlock again"
tpm2_shutdown >/dev/null || fail "shutdown state"
lose_ram
tpm2_startup >/dev/null || fail "startup state"
expect_rc 0x148 tpm2_nvwrite 0x1500007 -C o -i eight
expect_rc 0x148 tpm2_nvread 0x1500008 -C o
ok
# the global lock
tpm2_nvdefine 0x1500009 -C o -s 8 -a "ownerread|ownerwrite|globallock" >/dev/null || fail "define globallock"
tpm2_nvwritelock -C o --global || fail "global write lock"
expect_rc 0x148 tpm2_nvwrite 0x1500009 -C o -i eight
tpm2_nvwrite 0x1500001 -C o -i eight || fail "index without GLOBALLOCK"
power_cycle
tpm2_nvwrite 0x1500009 -C o -i eight || fail "global lock after Startup(CLEAR)"
ok

# NV_ChangeAuth: ADMIN role, a policy with PolicyCommandCode(NV_ChangeAuth)
tpm2_startauthsession -S t.ctx && tpm2_policycommandcode -S t.ctx -L ca.pol TPM2_CC_NV_ChangeAuth >/dev/null && tpm2_flushcontext t.ctx || fail "trial policy"
tpm2_nvdefine 0x1500010 -C o -s 8 -a "ownerwrite|authread|authwrite" -p old -L ca.pol >/dev/null || fail "define with policy"
tpm2_nvwrite 0x1500010 -P old -i eight || fail "write with old auth"
expect_rc 0x124 tpm2_changeauth -c 0x1500010 -p old new
tpm2_startauthsession --policy-session -S p.ctx && tpm2_policycommandcode -S p.ctx TPM2_CC_NV_ChangeAuth >/dev/null || fail "policy session"
tpm2_changeauth -c 0x1500010 -p session:p.ctx new || fail "changeauth of an NV index"
tpm2_flushcontext p.ctx 2>/dev/null || true
expect_rc 0x98e tpm2_nvread 0x1500010 -P old
[ "$(nvhex 0x1500010 -P new)" = "$(hex eight)" ] || fail "read with the new auth"
ok

# PIN Fail index: failures counted, the limit enforced
tpm2_nvdefine 0x1500011 -C o -a "ownerread|ownerwrite|authread|no_da|nt=pinfail" -p 1234 >/dev/null || fail "define pinfail"
printf '\000\000\000\000\000\000\000\002' > pin
tpm2_nvwrite 0x1500011 -C o -i pin || fail "write pin parameters"
[ "$(nvhex 0x1500011 -P 1234)" = 0000000000000002 ] || fail "read with the PIN"
expect_rc 0x9a2 tpm2_nvread 0x1500011 -P 9999
[ "$(nvhex 0x1500011 -C o)" = 0000000100000002 ] || fail "pinCount after a failure"
expect_rc 0x9a2 tpm2_nvread 0x1500011 -P 9999
expect_rc 0x12f tpm2_nvread 0x1500011 -P 1234
ok
# PIN Pass index: successes counted
tpm2_nvdefine 0x1500012 -C o -a "ownerread|ownerwrite|authread|nt=pinpass" -p 5678 >/dev/null || fail "define pinpass"
tpm2_nvwrite 0x1500012 -C o -i pin || fail "write pin pass parameters"
nvhex 0x1500012 -P 5678 >/dev/null || fail "first use"
nvhex 0x1500012 -P 5678 >/dev/null || fail "second use"
expect_rc 0x12f tpm2_nvread 0x1500012 -P 5678
[ "$(nvhex 0x1500012 -C o)" = 0000000200000002 ] || fail "pinCount after two uses"
ok

# PolicyNV and PolicyAuthorizeNV: digests against Python
tpm2_nvdefine 0x1500013 -C o -s 32 -a "ownerread|ownerwrite" >/dev/null || fail "define for PolicyNV"
tpm2_nvwrite 0x1500013 -C o -i small --offset 3 || fail "write for PolicyNV"
tpm2_startauthsession --policy-session -S s.ctx || fail "session"
tpm2_policynv -S s.ctx -C o -i small 0x1500013 eq --offset 3 -L pnv.bin >/dev/null || fail policynv
tpm2_flushcontext s.ctx
want=$(py "
import hashlib,struct
H=lambda b: hashlib.sha256(b).digest()
name=bytes.fromhex('$(name_of 0x01500013 0x20020002 32)')
args=H(b'hello'+struct.pack('>HH',3,0))
print(H(bytes(32)+struct.pack('>I',0x149)+args+name).hex())")
[ "$(hex pnv.bin)" = "$want" ] || fail "PolicyNV digest"
printf 'hellp' > other
tpm2_startauthsession --policy-session -S s.ctx || fail "session"
expect_rc 0x126 tpm2_policynv -S s.ctx -C o -i other 0x1500013 eq --offset 3
tpm2_flushcontext s.ctx
# the index holds TPMT_HA { sha256, PolicyCommandCode(NV_Read) }
tpm2_startauthsession -S t.ctx && tpm2_policycommandcode -S t.ctx -L rd.pol TPM2_CC_NV_Read >/dev/null && tpm2_flushcontext t.ctx || fail "trial policy"
{ printf '\000\013'; cat rd.pol; } > approved
tpm2_nvdefine 0x1500014 -C o -s 34 -a "ownerread|ownerwrite" >/dev/null || fail "define policy index"
tpm2_nvwrite 0x1500014 -C o -i approved || fail "write approved policy"
tpm2_startauthsession --policy-session -S s.ctx || fail "session"
tpm2_policycommandcode -S s.ctx TPM2_CC_NV_Read >/dev/null || fail policycommandcode
tpm2_policyauthorizenv -S s.ctx -C o -L pan.bin 0x1500014 >/dev/null || fail policyauthorizenv
want=$(py "
import hashlib,struct
name=bytes.fromhex('$(name_of 0x01500014 0x20020002 34)')
print(hashlib.sha256(bytes(32)+struct.pack('>I',0x192)+name).hexdigest())")
[ "$(hex pan.bin)" = "$want" ] || fail "PolicyAuthorizeNV digest"
# that digest opens an index readable by policy
tpm2_nvdefine 0x1500015 -C o -s 4 -a "ownerwrite|policyread" -L pan.bin >/dev/null || fail "define policy-read index"
printf 'data' > four
tpm2_nvwrite 0x1500015 -C o -i four || fail "write policy-read index"
[ "$(nvhex 0x1500015 -P session:s.ctx -s 4)" = "$(hex four)" ] || fail "read through PolicyAuthorizeNV"
tpm2_flushcontext s.ctx 2>/dev/null || true
expect_rc 0x12f tpm2_nvread 0x1500015 -s 4
ok

# platform indices: certificates at their standard handles, locked, kept by TPM2_Clear
for h in 0x1c00002 0x1c0000a 0x1c00016 0x1c08000 0x1c00100; do
    tpm2_nvdefine $h -C p -s 4096 -a "ppwrite|writedefine|ppread|ownerread|authread|no_da|platformcreate" >/dev/null || fail "define $h"
    head -c 4096 /dev/urandom > cert
    head -c 2048 cert > c1
    tail -c 2048 cert > c2
    tpm2_nvwrite $h -C p -i c1 && tpm2_nvwrite $h -C p -i c2 --offset 2048 || fail "write certificate $h"
    tpm2_nvwritelock -C p $h || fail "lock $h"
    [ "$(nvhex $h -C o)" = "$(hex cert)" ] || fail "read certificate $h"
done
expect_rc 0x149 tpm2_nvundefine 0x1c00002 -C o
tpm2_getcap handles-nv-index > handles.txt
for h in 0x1500001 0x1C00002 0x1C0000A 0x1C00016 0x1C00100 0x1C08000; do
    grep -qi "$h" handles.txt || fail "handle $h listed"
done
n=$(grep -c "^- " handles.txt)
tpm2_getcap properties-variable | grep -q "TPM2_PT_HR_NV_INDEX: $(printf 0x%X "$n")$" || fail "TPM2_PT_HR_NV_INDEX = $n"
ok
# a policy-delete index goes only with its policy (NV_UndefineSpaceSpecial)
tpm2_startauthsession -S t.ctx && tpm2_policycommandcode -S t.ctx -L pd.pol TPM2_CC_NV_UndefineSpaceSpecial >/dev/null && tpm2_flushcontext t.ctx || fail "trial policy"
tpm2_nvdefine 0x1400001 -C p -s 8 -a 0x40010401 -L pd.pol >/dev/null || fail "define policy-delete index"
tpm2_nvreadpublic 0x1400001 | grep -q policydelete || fail "POLICY_DELETE shown"
expect_fail tpm2_nvundefine 0x1400001 -C p
tpm2_startauthsession --policy-session -S pd.ctx && tpm2_policycommandcode -S pd.ctx TPM2_CC_NV_UndefineSpaceSpecial >/dev/null || fail "policy session"
tpm2_nvundefine 0x1400001 -C p -S pd.ctx || fail "nvundefine with policy delete"
expect_rc 0x18b tpm2_nvreadpublic 0x1400001
ok
# nvundefine, then TPM2_Clear: owner indices go, platform ones stay
tpm2_nvundefine 0x1500013 -C o || fail nvundefine
expect_rc 0x18b tpm2_nvreadpublic 0x1500013
tpm2_clear -c p || fail clear
expect_rc 0x18b tpm2_nvreadpublic 0x1500001
tpm2_nvreadpublic 0x1c00002 >/dev/null || fail "platform index after Clear"
# a counter defined after Clear starts above the deleted ones (0x100 was reached)
tpm2_nvdefine 0x1500002 -C o -a "ownerread|ownerwrite|nt=counter" >/dev/null || fail "define counter after clear"
tpm2_nvincrement -C o 0x1500002 || fail "increment after clear"
[ "$(nvhex 0x1500002 -C o)" = 0000000000000101 ] || fail "counter after Clear went back"
ok
tpm2_shutdown -c || fail shutdown
echo "nv_tools: $pass checks passed"
