#!/usr/bin/env python3
"""Checks of TPM results made outside the TPM, for tests/integration/sign_tools.sh.

Elliptic-curve arithmetic is written out here (affine coordinates, NIST P-256 and P-384 from
FIPS 186-4 D.1.2) so that signatures OpenSSL cannot check (the TPM's EC-Schnorr and ECDAA) are
still verified independently of the engine. Keys and ECDH use python3-cryptography.

    tpmcheck.py eckey PEM POINT              new EC key (P-256): PEM private key, TPM2B_ECC_POINT
    tpmcheck.py ecdh PEM POINT Z             x of [d]POINT equals Z's x
    tpmcheck.py schnorr PUBPEM SIG MSG       TPMT_SIGNATURE (ECSCHNORR) over H(MSG)
    tpmcheck.py ecdaa PUBPEM SIG E MSG       TPMT_SIGNATURE (ECDAA) with commit point E
    tpmcheck.py attest FILE TYPE [NAME [EXTRA]]   TPMS_ATTEST: magic, type, member's name
Exit status 0 when the check holds, 1 otherwise (with a line saying why).
"""
import hashlib
import struct
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

CURVES = {
    "secp256r1": dict(
        p=0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
        a=-3,
        n=0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
        gx=0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
        gy=0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
        size=32,
    ),
    "secp384r1": dict(
        p=int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE"
              "FFFFFFFF0000000000000000FFFFFFFF", 16),
        a=-3,
        n=int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
              "581A0DB248B0A77AECEC196ACCC52973", 16),
        gx=int("AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A38"
               "5502F25DBF55296C3A545E3872760AB7", 16),
        gy=int("3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C0"
               "0A60B1CE1D7E819D7A431D7C90EA0E5F", 16),
        size=48,
    ),
}
HASHES = {0x0004: "sha1", 0x000B: "sha256", 0x000C: "sha384", 0x000D: "sha512"}


def add(c, P, Q):
    if P is None:
        return Q
    if Q is None:
        return P
    p = c["p"]
    if P[0] == Q[0] and (P[1] + Q[1]) % p == 0:
        return None
    if P == Q:
        lam = (3 * P[0] * P[0] + c["a"]) * pow(2 * P[1], -1, p) % p
    else:
        lam = (Q[1] - P[1]) * pow(Q[0] - P[0], -1, p) % p
    x = (lam * lam - P[0] - Q[0]) % p
    return (x, (lam * (P[0] - x) - P[1]) % p)


def mul(c, k, P):
    R = None
    while k:
        if k & 1:
            R = add(c, R, P)
        P = add(c, P, P)
        k >>= 1
    return R


def fail(why):
    print("tpmcheck: " + why)
    sys.exit(1)


def tpm2b(b, off):
    (n,) = struct.unpack_from(">H", b, off)
    return b[off + 2:off + 2 + n], off + 2 + n


def read_point(path):
    b = open(path, "rb").read()
    x, off = tpm2b(b, 2)
    y, off = tpm2b(b, off)
    return int.from_bytes(x, "big"), int.from_bytes(y, "big")


def write_point(path, x, y, size):
    xb, yb = x.to_bytes(size, "big"), y.to_bytes(size, "big")
    body = struct.pack(">H", size) + xb + struct.pack(">H", size) + yb
    open(path, "wb").write(struct.pack(">H", len(body)) + body)


def read_sig(path):
    b = open(path, "rb").read()
    alg, h = struct.unpack_from(">HH", b, 0)
    r, off = tpm2b(b, 4)
    s, off = tpm2b(b, off)
    return alg, HASHES[h], r, int.from_bytes(s, "big")


def pubkey(path):
    k = serialization.load_pem_public_key(open(path, "rb").read())
    c = CURVES[k.curve.name]
    pn = k.public_numbers()
    return c, (pn.x, pn.y)


def main(argv):
    cmd = argv[1]
    if cmd == "eckey":
        k = ec.generate_private_key(ec.SECP256R1())
        open(argv[2], "wb").write(k.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
        pn = k.public_key().public_numbers()
        write_point(argv[3], pn.x, pn.y, 32)
    elif cmd == "ecdh":
        k = serialization.load_pem_private_key(open(argv[2], "rb").read(), None)
        c = CURVES[k.curve.name]
        d = k.private_numbers().private_value
        R = mul(c, d, read_point(argv[3]))
        if R[0] != read_point(argv[4])[0]:
            fail("ECDH: the shared x coordinates differ")
    elif cmd == "schnorr":
        c, Q = pubkey(argv[2])
        alg, h, r, s = read_sig(argv[3])
        if alg != 0x001C:
            fail("not an ECSCHNORR signature")
        digest = hashlib.new(h, open(argv[4], "rb").read()).digest()
        rv = int.from_bytes(r, "big")
        if not (0 < rv < c["n"] and 0 < s < c["n"]):
            fail("Schnorr: r or s out of range")
        G = (c["gx"], c["gy"])
        R = add(c, mul(c, s, G), mul(c, c["n"] - rv, Q))
        e = hashlib.new(h, R[0].to_bytes(c["size"], "big") + digest).digest()[:c["size"]]
        if int.from_bytes(e, "big") != rv:
            fail("Schnorr: H(R.x || digest) does not match r")
    elif cmd == "ecdaa":
        c, Q = pubkey(argv[2])
        alg, h, nonce, s = read_sig(argv[3])
        if alg != 0x001A:
            fail("not an ECDAA signature")
        E = read_point(argv[4])
        digest = hashlib.new(h, open(argv[5], "rb").read()).digest()
        T = int.from_bytes(hashlib.new(h, nonce + digest).digest(), "big") % c["n"]
        G = (c["gx"], c["gy"])
        if mul(c, s, G) != add(c, E, mul(c, T, Q)):
            fail("ECDAA: [s]G != E + [T]Q")
    elif cmd == "attest":
        b = open(argv[2], "rb").read()
        magic, typ = struct.unpack_from(">IH", b, 0)
        if magic != 0xFF544347:
            fail("magic is not TPM_GENERATED_VALUE")
        if typ != int(argv[3], 0):
            fail("type 0x%04x, expected %s" % (typ, argv[3]))
        signer, off = tpm2b(b, 6)
        extra, off = tpm2b(b, off)
        off += 8 + 4 + 4 + 1 + 8  # clockInfo, firmwareVersion
        name, _ = tpm2b(b, off)
        if len(argv) > 4 and argv[4] and name != open(argv[4], "rb").read():
            fail("the attested Name is not the object's")
        if len(argv) > 5 and extra != open(argv[5], "rb").read():
            fail("extraData is not the qualifying data")
    else:
        fail("unknown check " + cmd)


if __name__ == "__main__":
    main(sys.argv)
