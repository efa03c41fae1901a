#!/bin/sh
# Regenerate fuzz/corpus/engine: real tpm2-tools traffic captured through tests/tools/tpm_stdio,
# cut into one file per command (named after it), each prefixed with the fuzz target's flag
# byte (locality 0). Run from the source tree after a build: fuzz/make_seeds.sh build
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TPM2TOOLS_TCTI="cmd:sh -c 'tee -a $tmp/in.bin | $(cd "$build" && pwd)/tests/tpm_stdio $tmp/state'"
cd "$tmp"
run() { "$@" >/dev/null 2>&1 || true; }
run tpm2_startup -c
run tpm2_selftest
run tpm2_incrementalselftest sha256 aes
run tpm2_gettestresult
run tpm2_getrandom 16
run tpm2_stirrandom <<EOT
0123456789abcdef
EOT
for c in algorithms commands pcrs properties-fixed properties-variable ecc-curves handles-transient handles-persistent handles-permanent handles-pcr handles-loaded-session handles-saved-session; do
    run tpm2_getcap "$c"
done
run tpm2_pcrread sha1:0,1+sha256:0,16+sha384:23+sha512:7
run tpm2_pcrextend 0:sha256=0000000000000000000000000000000000000000000000000000000000000001
echo hello > msg
run tpm2_pcrevent 16 msg
run tpm2_pcrreset 16
run tpm2_hash -g sha256 msg
dd if=/dev/zero bs=1 count=2000 of=big 2>/dev/null
run tpm2_hash -g sha384 big
run tpm2_readclock
run tpm2_testparms rsa2048
run tpm2_testparms aes128cfb
run tpm2_changeauth -c owner pw
run tpm2_changeauth -c owner -p pw
run tpm2_clearcontrol -C l s
run tpm2_clearcontrol -C p c
run tpm2_clear
run tpm2_dictionarylockout -s -n 10 -t 20 -l 30
run tpm2_dictionarylockout -c
run tpm2_hierarchycontrol -C p shEnable clear
run tpm2_pcrallocate sha256:all
run tpm2_startauthsession -S s.ctx
run tpm2_policypcr -S s.ctx -l sha256:0
run tpm2_policyauthvalue -S s.ctx
run tpm2_policypassword -S s.ctx
run tpm2_policylocality -S s.ctx zero
run tpm2_policyrestart -S s.ctx
run tpm2_flushcontext s.ctx
run tpm2_startauthsession --policy-session -S p.ctx
run tpm2_policysecret -S p.ctx -c o
run tpm2_policycommandcode -S p.ctx TPM2_CC_Clear
run tpm2_flushcontext p.ctx
run tpm2_shutdown -c
python3 - "$tmp/in.bin" "$here/corpus/engine" <<'PY'
import os, sys
data = open(sys.argv[1], 'rb').read()
out = sys.argv[2]
os.makedirs(out, exist_ok=True)
i = 0
seen = {}
while i + 10 <= len(data):
    size = int.from_bytes(data[i+2:i+6], 'big')
    cc = int.from_bytes(data[i+6:i+10], 'big')
    cmd = data[i:i+size]
    i += size
    k = seen.get(cc, 0)
    seen[cc] = k + 1
    if k >= 3:
        continue
    flag = b'\x80' if cc == 0x144 else b'\x00'
    with open(os.path.join(out, 'cc%03x_%d' % (cc, k)), 'wb') as f:
        f.write(flag + cmd)
print('seeds:', sum(min(v, 3) for v in seen.values()), 'commands:', len(seen))
PY
