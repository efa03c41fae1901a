#!/usr/bin/env python3
# Known answers for primary-key derivation (src/tpm/primary.h), computed independently of the
# engine with Python's hmac/hashlib and the 'cryptography' package (Debian python3-cryptography).
# Prints the C initializers that tests/unit/test_keys.c records. Run: python3 primary_kat.py
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.asymmetric import ec


def kdfa(key, label, u, v, bits):
    """TPM 2.0 Part 1 §11.4.10.2 KDFa with SHA-256 (SP800-108 counter mode, HMAC)."""
    out = b""
    i = 1
    while len(out) * 8 < bits:
        out += hmac.new(key, struct.pack(">I", i) + label + b"\0" + u + v +
                        struct.pack(">I", bits), hashlib.sha256).digest()
        i += 1
    return out[: bits // 8]


def name(public):
    return b"\x00\x0b" + hashlib.sha256(public).digest()


SEED = bytes(range(64))  # the storage primary seed the test installs
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

# ECC P-256 storage key: the tpm2-tools default ecc256 template.
ecc_tmpl = bytes.fromhex("0023" "000b" "00030072" "0000" "0006" "0080" "0043" "0010" "0003"
                         "0010" "0000" "0000")
k = kdfa(SEED, b"Primary Object Creation", name(ecc_tmpl), b"", 256)
seed_value = kdfa(k, b"SEED", struct.pack(">I", 1), b"", 256)
r = int.from_bytes(kdfa(k, b"ECC", struct.pack(">I", 2), b"", (32 + 8) * 8), "big")
d = r % (P256_N - 1) + 1
pub = ec.derive_private_key(d, ec.SECP256R1()).public_key().public_numbers()
print("ecc_x:", pub.x.to_bytes(32, "big").hex())
print("ecc_y:", pub.y.to_bytes(32, "big").hex())

# Keyed-hash HMAC key (sign, scheme HMAC-SHA256): unique = SHA-256(obfuscation || key).
hmac_tmpl = bytes.fromhex("0008" "000b" "00040072" "0000" "0005" "000b" "0000")
k = kdfa(SEED, b"Primary Object Creation", name(hmac_tmpl), b"", 256)
obf = kdfa(k, b"SEED", struct.pack(">I", 1), b"", 256)
key = kdfa(k, b"KEYEDHASH", struct.pack(">I", 2), b"", 256)
print("hmac_unique:", hashlib.sha256(obf + key).hexdigest())
