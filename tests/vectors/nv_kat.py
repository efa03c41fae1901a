#!/usr/bin/env python3
"""Known answers for tests/unit/test_nv.c, computed independently of the engine with hashlib.

NV Names (Part 1 §16): nameAlg || H_nameAlg(TPMS_NV_PUBLIC marshaled big-endian).
NV_Extend (Part 3 §31.9): data = H_nameAlg(data || input), data starting as zeros.
Policy digests (Part 3 §23): PolicyNV, PolicyAuthorizeNV, PolicyNvWritten, PolicyCommandCode.
Run: python3 tests/vectors/nv_kat.py
"""
import hashlib
import struct


def nv_public(index, alg, attrs, policy, size):
    return struct.pack('>IHI', index, alg, attrs) + struct.pack('>H', len(policy)) + policy + \
        struct.pack('>H', size)


def name(index, alg, attrs, policy, size):
    h = {0x0004: hashlib.sha1, 0x000B: hashlib.sha256, 0x000C: hashlib.sha384}[alg]
    return struct.pack('>H', alg) + h(nv_public(index, alg, attrs, policy, size)).digest()


def sha256(b):
    return hashlib.sha256(b).digest()


Z = bytes(32)
# owner index, sha256, ownerwrite|authwrite|ownerread|authread, 32 bytes; then written
n_unwritten = name(0x01500016, 0x000B, 0x00060006, b'', 32)
n_written = name(0x01500016, 0x000B, 0x20060006, b'', 32)
print('NAME_OWNER_UNWRITTEN', n_unwritten.hex())
print('NAME_OWNER_WRITTEN  ', n_written.hex())
# platform index, sha1, ppwrite|policywrite|ppread|platformcreate, policy 20 x 0x11, 16 bytes
print('NAME_PLATFORM_SHA1  ', name(0x01400001, 0x0004, 0x40010009, bytes([0x11] * 20), 16).hex())
# extend index, sha256: "abc" then "defg"
e1 = sha256(Z + b'abc')
e2 = sha256(e1 + b'defg')
print('EXTEND_SHA256_1     ', e1.hex())
print('EXTEND_SHA256_2     ', e2.hex())
# extend index, sha384: "abc"
print('EXTEND_SHA384_1     ', hashlib.sha384(bytes(48) + b'abc').hexdigest())
# PolicyNV(EQ, offset 3, operandB "hello") on the written owner index above
args = sha256(b'hello' + struct.pack('>HH', 3, 0))
print('POLICY_NV           ', sha256(Z + struct.pack('>I', 0x149) + args + n_written).hex())
# PolicyCommandCode(NV_Read) then PolicyAuthorizeNV on the written index 0x01500020
cc_read = sha256(Z + struct.pack('>II', 0x16C, 0x14E))
print('POLICY_CC_NV_READ   ', cc_read.hex())
# the index holding the approved policy: ownerwrite|ownerread, written, 34 bytes (TPMT_HA)
n_pol = name(0x01500020, 0x000B, 0x20020002, b'', 34)
print('NAME_POLICY_INDEX   ', n_pol.hex())
print('POLICY_AUTHORIZE_NV ', sha256(Z + struct.pack('>I', 0x192) + n_pol).hex())
# PolicyNvWritten(NO)
print('POLICY_NV_WRITTEN_NO', sha256(Z + struct.pack('>I', 0x18F) + b'\x00').hex())
# PolicyCommandCode(NV_ChangeAuth), (NV_UndefineSpaceSpecial)
print('POLICY_CC_CHANGEAUTH', sha256(Z + struct.pack('>II', 0x16C, 0x13B)).hex())
print('POLICY_CC_UNDEF_SPEC', sha256(Z + struct.pack('>II', 0x16C, 0x11F)).hex())
