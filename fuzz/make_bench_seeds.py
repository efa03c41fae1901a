#!/usr/bin/env python3
"""Seeds for the bench fuzz target (fuzz/fuzz_bench.c): one well-formed TPM response per parser
of bench/tpmcmd.c, prefixed with the flag byte that picks the parser. The values mirror those of
bench/test_tpmcmd.c (a quote's qualifying data 0x12 * 16; the HMAC session with sessionKey
0x11 * 32, nonceCaller 0x22 * 32, nonceTPM 0x33 * 32), so that the seeds reach the end of
every parser. Run from the source tree: fuzz/make_bench_seeds.py
"""
import hashlib
import hmac
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "bench")
NSIMPLE = 8  # enum bcmd's count: the flags 0..7 pick bcmd_check of each simple command
PW = struct.pack(">HBH", 0, 1, 0)  # a password session's answer


def b2(data):
    return struct.pack(">H", len(data)) + data


def rsp(tag, body, rc=0):
    return struct.pack(">HII", tag, 10 + len(body), rc) + body


def with_sessions(params, handle=None):
    head = struct.pack(">I", handle) if handle is not None else b""
    return rsp(0x8002, head + struct.pack(">I", len(params)) + params + PW)


def ecc_public():
    return (bytes.fromhex("0023000b000300720000000600800043001000030010")
            + b2(b"\x61" * 32) + b2(b"\x62" * 32))


def creation():
    return b2(b"\x71" * 4) + b2(b"\x71" * 32) + struct.pack(">HI", 0x8021, 0x40000001) + \
        b2(b"\x71" * 32)


def name():
    return b2(b"\x00\x0b" + b"\x81" * 32)


def ecdsa():
    return struct.pack(">HH", 0x0018, 0x000B) + b2(b"\x91" * 32) + b2(b"\x91" * 32)


def seeds():
    yield 0, "getrandom", rsp(0x8001, b2(bytes(range(32))))
    yield 6, "daparams", with_sessions(b"")
    yield 6, "daparams-error", rsp(0x8001, b"", 0x98E)
    yield NSIMPLE + 0, "flushcontext", rsp(0x8001, b"")
    yield NSIMPLE + 1, "nvwrite", with_sessions(b"")
    yield NSIMPLE + 2, "createprimary", with_sessions(
        b2(ecc_public()) + creation() + name(), 0x80000000)
    yield NSIMPLE + 3, "create", with_sessions(
        b2(b"\xd1\xd2\xd3") + b2(bytes.fromhex("0008000b0000005200000010") + b2(b""))
        + creation())
    yield NSIMPLE + 4, "load", with_sessions(name(), 0x80000001)
    yield NSIMPLE + 5, "unseal", with_sessions(b2(b"\x01\x02"))
    yield NSIMPLE + 6, "startauthsession", rsp(0x8001, struct.pack(">I", 0x02000001)
                                               + b2(b"\x33" * 32))
    new_nonce = b"\x44" * 32
    rp = hashlib.sha256(struct.pack(">II", 0, 0x182)).digest()
    mac = hmac.new(b"\x11" * 32, rp + new_nonce + b"\x22" * 32 + b"\x01", hashlib.sha256)
    yield NSIMPLE + 7, "pcrextend-hmac", rsp(0x8002, struct.pack(">I", 0) + b2(new_nonce)
                                             + b"\x01" + b2(mac.digest()))
    yield NSIMPLE + 8, "sign-ecdsa", with_sessions(ecdsa())
    yield NSIMPLE + 9, "sign-rsassa", with_sessions(struct.pack(">HH", 0x0014, 0x000B)
                                                    + b2(b"\x91" * 256))
    attest = (struct.pack(">IH", 0xFF544347, 0x8018) + name() + b2(b"\x12" * 16)
              + struct.pack(">QIIBQ", 1000, 1, 0, 1, 0x2023)
              + struct.pack(">IHB3s", 1, 0x000B, 3, b"\xff\x00\x00") + b2(b"\x55" * 32))
    yield NSIMPLE + 10, "quote", with_sessions(b2(attest) + ecdsa())
    yield NSIMPLE + 11, "encryptdecrypt2", with_sessions(b2(b"abcdefgh")
                                                         + b2(b"0123456789abcdef"))
    yield NSIMPLE + 12, "getcapability-property", rsp(0x8001, struct.pack(
        ">BIIII", 0, 6, 1, 0x20F, 32))


def main():
    os.makedirs(OUT, exist_ok=True)
    for flag, label, body in seeds():
        with open(os.path.join(OUT, label), "wb") as f:
            f.write(bytes([flag]) + body)


if __name__ == "__main__":
    main()
