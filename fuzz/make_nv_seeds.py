#!/usr/bin/env python3
"""Seeds for the engine fuzz target: one file per NV command (fuzz/corpus/engine/<command>).

Each seed is a short run of commands, each prefixed with the fuzz target's flag byte
(fuzz/fuzz_engine.c: 0x00 = locality 0, 0x80 = _TPM_Init first), that brings the engine to
where the command succeeds: the index it needs is defined first. Everything is deterministic:
password sessions, and policy sessions satisfied with PolicyPassword (the authValue travels in
clear), whose handle is the first policy slot, 0x03000000.

  fuzz/make_nv_seeds.py                 write the seeds
  fuzz/make_nv_seeds.py --check BUILD   also replay each through BUILD/tests/tpm_stdio and
                                        fail unless every command answers TPM_RC_SUCCESS
"""
import hashlib
import os
import struct
import subprocess
import sys
import tempfile

OWNER, PLATFORM, RS_PW, RH_NULL = 0x40000001, 0x4000000C, 0x40000009, 0x40000007
POLICY_SESSION = 0x03000000
SHA256 = 0x000B

OWNERWRITE, OWNERREAD, PPWRITE, PPREAD = 0x2, 0x20000, 0x1, 0x10000
COUNTER, BITS, EXTEND = 0x10, 0x20, 0x40
POLICY_DELETE, WRITEDEFINE, GLOBALLOCK, READ_STCLEAR = 0x400, 0x2000, 0x8000, 0x80000000
ORDERLY, PLATFORMCREATE, AUTHREAD, AUTHWRITE = 0x04000000, 0x40000000, 0x40000, 0x4
OWNER_RW = OWNERREAD | OWNERWRITE


def b2(data):
    return struct.pack('>H', len(data)) + data


def command(cc, handles=(), sessions=None, params=b''):
    """sessions: list of (handle, hmac-or-password bytes); None for TPM_ST_NO_SESSIONS."""
    body = b''.join(struct.pack('>I', h) for h in handles)
    tag = 0x8001
    if sessions is not None:
        tag = 0x8002
        area = b''.join(struct.pack('>I', h) + b2(b'') + b'\x01' + b2(v) for h, v in sessions)
        body += struct.pack('>I', len(area)) + area
    body += params
    return struct.pack('>HII', tag, 10 + len(body), cc) + body


def pw(*handles):
    return [(RS_PW, b'')] * len(handles)


def nv_public(index, attrs, size, policy=b''):
    return b2(struct.pack('>IHI', index, SHA256, attrs) + b2(policy) + struct.pack('>H', size))


def define(index, attrs, size, policy=b'', auth_handle=OWNER):
    return command(0x12A, [auth_handle], pw(auth_handle),
                   b2(b'') + nv_public(index, attrs, size, policy))


def nv_write(index, data, offset=0, auth=OWNER):
    return command(0x137, [auth, index], pw(auth), b2(data) + struct.pack('>H', offset))


def start_policy_session():
    return command(0x176, [RH_NULL, RH_NULL], None,
                   b2(bytes(range(16))) + b2(b'') + b'\x01' + struct.pack('>HH', 0x10, SHA256))


def policy_cc(code):
    return command(0x16C, [POLICY_SESSION], None, struct.pack('>I', code))


def policy_password():
    return command(0x18C, [POLICY_SESSION])


def sha256(b):
    return hashlib.sha256(b).digest()


def policy_of(*codes):
    """PolicyCommandCode(code)... then PolicyPassword (which extends with PolicyAuthValue)."""
    d = bytes(32)
    for c in codes:
        d = sha256(d + struct.pack('>II', 0x16C, c))
    return sha256(d + struct.pack('>I', 0x16B))


IX = 0x01500001
PX = 0x01400001
cc_read = sha256(bytes(32) + struct.pack('>II', 0x16C, 0x14E))

SEEDS = {
    'NV_DefineSpace': [define(IX, OWNER_RW | AUTHREAD | AUTHWRITE, 64)],
    'NV_UndefineSpace': [define(IX, OWNER_RW, 8), command(0x122, [OWNER, IX], pw(OWNER))],
    'NV_UndefineSpaceSpecial': [define(PX, PPWRITE | PPREAD | PLATFORMCREATE | POLICY_DELETE, 8, policy_of(0x11F),
                   PLATFORM),
            start_policy_session(), policy_cc(0x11F), policy_password(),
            command(0x11F, [PX, PLATFORM], [(POLICY_SESSION, b''), (RS_PW, b'')])],
    'NV_ReadPublic': [define(IX, OWNER_RW, 8), command(0x169, [IX])],
    'NV_Write': [define(IX, OWNER_RW, 64), nv_write(IX, b'seed data', 7)],
    'NV_Increment': [define(IX, OWNER_RW | COUNTER, 8), command(0x134, [OWNER, IX], pw(OWNER))],
    'NV_Extend': [define(IX, OWNER_RW | EXTEND, 32),
            command(0x136, [OWNER, IX], pw(OWNER), b2(b'measurement'))],
    'NV_SetBits': [define(IX, OWNER_RW | BITS, 8),
            command(0x135, [OWNER, IX], pw(OWNER), struct.pack('>Q', 0x8001))],
    'NV_WriteLock': [define(IX, OWNER_RW | WRITEDEFINE, 8), nv_write(IX, b'12345678'),
            command(0x138, [OWNER, IX], pw(OWNER))],
    'NV_GlobalWriteLock': [define(IX, OWNER_RW | GLOBALLOCK, 8), command(0x132, [OWNER], pw(OWNER))],
    'NV_Read': [define(IX, OWNER_RW, 16), nv_write(IX, b'0123456789abcdef'),
            command(0x14E, [OWNER, IX], pw(OWNER), struct.pack('>HH', 8, 4))],
    'NV_ReadLock': [define(IX, OWNER_RW | READ_STCLEAR, 8), command(0x14F, [OWNER, IX], pw(OWNER))],
    'NV_ChangeAuth': [define(IX, OWNER_RW | AUTHREAD, 8, policy_of(0x13B)),
            start_policy_session(), policy_cc(0x13B), policy_password(),
            command(0x13B, [IX], [(POLICY_SESSION, b'')], b2(b'new auth'))],
    'PolicyNV': [define(IX, OWNER_RW, 32), nv_write(IX, b'hello', 3), start_policy_session(),
            command(0x149, [OWNER, IX, POLICY_SESSION], pw(OWNER),
                    b2(b'hello') + struct.pack('>HH', 3, 0))],
    'PolicyAuthorizeNV': [define(IX, OWNER_RW, 34), nv_write(IX, struct.pack('>H', SHA256) + cc_read),
            start_policy_session(), policy_cc(0x14E),
            command(0x192, [OWNER, IX, POLICY_SESSION], pw(OWNER))],
    # an orderly counter through a power cycle (flag 0x80: _TPM_Init before Startup)
    'NV_Increment_orderly': [define(IX, OWNER_RW | COUNTER | ORDERLY, 8),
                command(0x134, [OWNER, IX], pw(OWNER)), command(0x134, [OWNER, IX], pw(OWNER)),
                (0x80, command(0x144, [], None, struct.pack('>H', 0))),
                command(0x134, [OWNER, IX], pw(OWNER))],
}


def flagged(cmds):
    out = b''
    for c in cmds:
        flag, c = c if isinstance(c, tuple) else (0, c)
        out += bytes([flag]) + c
    return out


def check(build, name, cmds):
    """Each command up to the first power cycle answers TPM_RC_SUCCESS through tpm_stdio."""
    run = [command(0x144, [], None, struct.pack('>H', 0))]
    for c in cmds:
        if isinstance(c, tuple):
            break
        run.append(c)
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run([os.path.join(build, 'tests', 'tpm_stdio'), os.path.join(d, 's')],
                           input=b''.join(run), capture_output=True, timeout=60, check=True)
    out = p.stdout
    for i, _ in enumerate(run):
        size, rc = struct.unpack('>II', out[2:10])
        if rc != 0:
            sys.exit('seed %s: command %d answered 0x%x' % (name, i, rc))
        out = out[size:]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = os.path.join(here, 'corpus', 'engine')
    build = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == '--check' else None
    for name, cmds in SEEDS.items():
        if build:
            check(build, name, cmds)
        with open(os.path.join(outdir, name), 'wb') as f:
            f.write(flagged(cmds))
    print('nv seeds:', len(SEEDS), '(checked)' if build else '')


if __name__ == '__main__':
    main()
