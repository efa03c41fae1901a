#!/usr/bin/env python3
"""Unit tests for tests/guest/eventlog.py: replay against hash chains computed here, the real log
of an OVMF + swtpm boot (tests/guest/vectors/), and refusal of malformed logs (truncated,
oversized, out of range, seeded random mutations) with LogError and nothing else."""

import contextlib
import hashlib
import io
import os
import random
import struct
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import eventlog  # noqa: E402
from eventlog import LogError  # noqa: E402

SHA1, SHA256, SHA384 = 0x0004, 0x000B, 0x000C
SIZES = {SHA1: 20, SHA256: 32, SHA384: 48}
NAMES = {SHA1: "sha1", SHA256: "sha256", SHA384: "sha384"}
VECTOR = os.path.join(HERE, "vectors", "ovmf-swtpm-crb")


def spec_id(algs, vendor=b"", signature=b"Spec ID Event03\x00", count=None):
    body = signature + struct.pack("<IBBBB", 0, 0, 2, 0, 2)
    body += struct.pack("<I", len(algs) if count is None else count)
    for alg, size in algs:
        body += struct.pack("<HH", alg, size)
    return body + bytes([len(vendor)]) + vendor


def header(body, pcr=0, etype=3, digest=bytes(20)):
    return struct.pack("<II", pcr, etype) + digest + struct.pack("<I", len(body)) + body


def event2(pcr, etype, digests, data, size=None):
    out = struct.pack("<III", pcr, etype, len(digests))
    for alg, d in digests:
        out += struct.pack("<H", alg) + d
    return out + struct.pack("<I", len(data) if size is None else size) + data


def measure(alg, data):
    return hashlib.new(NAMES[alg], data).digest()


# A small log: two banks, events on PCRs 0, 4 and 7, and an EV_NO_ACTION that must not count.
ALGS = [(SHA1, 20), (SHA256, 32)]
EVENTS = [(0, 0x8, b"crtm"), (7, 0x80000001, b"SecureBoot"), (4, 0x80000003, b"kernel"),
          (0, 0x3, b"not extended"), (7, 0x4, b"\0\0\0\0"), (4, 0x4, b"\0\0\0\0")]


def make_log(events=EVENTS, algs=ALGS):
    out = header(spec_id(algs))
    boundaries = [len(out)]
    for pcr, etype, data in events:
        digests = [(a, bytes(SIZES[a]) if etype == 3 else measure(a, data)) for a, _ in algs]
        out += event2(pcr, etype, digests, data)
        boundaries.append(len(out))
    return out, boundaries


def expected_pcrs(events=EVENTS, algs=ALGS, locality=0):
    """PCR values computed directly here, without eventlog.replay."""
    banks = {}
    for alg, size in algs:
        vals = []
        for i in range(24):
            v = b"\xff" * size if 17 <= i <= 22 else bytes(size)
            if i == 0:
                v = bytes(size - 1) + bytes([locality])
            for pcr, etype, data in events:
                if pcr == i and etype != 3:
                    v = measure(alg, v + measure(alg, data))
            vals.append(v)
        banks[alg] = vals
    return banks


def pcr_text(banks):
    return "".join(f"{NAMES[a]} {i} {v.hex()}\n" for a, vals in banks.items()
                   for i, v in enumerate(vals))


def run_check(log_bytes, banks, ima=b""):
    log = eventlog.parse_firmware_log(log_bytes)
    entries = eventlog.parse_ima_log(ima)
    out = io.StringIO()
    return eventlog.check(log, entries, banks, out), out.getvalue()


def quiet_main(argv):
    """eventlog.main with its report captured rather than printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        return eventlog.main(argv)


def ima_entry(pcr, data, name=b"ima-ng", digest=None):
    d = hashlib.sha1(data).digest() if digest is None else digest
    return struct.pack("<I", pcr) + d + struct.pack("<I", len(name)) + name + \
        struct.pack("<I", len(data)) + data


class ReplayTests(unittest.TestCase):
    def test_replay_matches_direct_hash_chain(self):
        log, _ = make_log()
        problems, out = run_check(log, expected_pcrs())
        self.assertEqual(problems, 0, out)
        self.assertIn("touched 0,4,7", out)

    def test_one_changed_pcr_is_a_mismatch(self):
        log, _ = make_log()
        banks = expected_pcrs()
        banks[SHA256][4] = bytes(31) + b"\x01"
        problems, out = run_check(log, banks)
        self.assertEqual(problems, 1)
        self.assertIn("sha256 PCR 4", out)

    def test_untouched_pcrs_must_hold_reset_values(self):
        log, _ = make_log()
        banks = expected_pcrs()
        banks[SHA1][17] = bytes(20)          # 17-22 reset to all ones
        banks[SHA1][23] = b"\xff" * 20       # 23 resets to zero
        problems, out = run_check(log, banks)
        self.assertEqual(problems, 2, out)
        self.assertIn("untouched", out)

    def test_no_action_event_is_not_extended(self):
        log, _ = make_log()
        banks = expected_pcrs()
        log_obj = eventlog.parse_firmware_log(log)
        values, touched, count = eventlog.replay(log_obj, [], SHA256)
        self.assertEqual(count, 5)
        self.assertEqual(values, banks[SHA256])

    def test_startup_locality_sets_pcr0(self):
        events = [(0, 0x3, b"StartupLocality\x00\x03")] + EVENTS
        log, _ = make_log(events)
        problems, out = run_check(log, expected_pcrs(events, locality=3))
        self.assertEqual(problems, 0, out)
        problems, _ = run_check(log, expected_pcrs(events, locality=0))
        self.assertEqual(problems, 2)

    def test_bank_without_log_digests_fails(self):
        log, _ = make_log()
        banks = expected_pcrs()
        banks[SHA384] = expected_pcrs(algs=[(SHA384, 48)])[SHA384]
        problems, out = run_check(log, banks)
        self.assertEqual(problems, 1)
        self.assertIn("no sha384 digests", out)

    def test_log_bank_not_read_fails(self):
        log, _ = make_log()
        banks = expected_pcrs()
        del banks[SHA1]
        problems, out = run_check(log, banks)
        self.assertEqual(problems, 1)
        self.assertIn("read no sha1 bank", out)


class ImaTests(unittest.TestCase):
    DATA = b"\x28\x00\x00\x00sha256:\x00" + bytes(32) + b"\x0f\x00\x00\x00boot_aggregate\x00"

    def banks_with_ima(self, form):
        banks = expected_pcrs(algs=ALGS + [(SHA384, 48)])
        for alg in banks:
            size = SIZES[alg]
            if form == "padded" and alg != SHA1:
                d = hashlib.sha1(self.DATA).digest() + bytes(size - 20)
            else:
                d = measure(alg, self.DATA)
            banks[alg][10] = measure(alg, bytes(size) + d)
        return banks

    def test_ima_full_hash_replay(self):
        log, _ = make_log(algs=ALGS + [(SHA384, 48)])
        problems, out = run_check(log, self.banks_with_ima("full"), ima_entry(10, self.DATA))
        self.assertEqual(problems, 0, out)
        self.assertIn("IMA extends hash", out)

    def test_ima_padded_sha1_replay(self):
        log, _ = make_log(algs=ALGS + [(SHA384, 48)])
        problems, out = run_check(log, self.banks_with_ima("padded"), ima_entry(10, self.DATA))
        self.assertEqual(problems, 0, out)
        self.assertIn("IMA extends padded-sha1", out)

    def test_ima_pcr_wrong_either_way(self):
        log, _ = make_log()
        banks = expected_pcrs()
        problems, out = run_check(log, banks, ima_entry(10, self.DATA))
        self.assertEqual(problems, 2, out)

    def test_ima_violation_extends_all_ones(self):
        log, _ = make_log()
        banks = expected_pcrs()
        for alg in banks:
            banks[alg][10] = measure(alg, bytes(SIZES[alg]) + b"\xff" * SIZES[alg])
        problems, out = run_check(log, banks, ima_entry(10, self.DATA, digest=bytes(20)))
        self.assertEqual(problems, 0, out)

    def test_ima_malformed(self):
        good = ima_entry(10, self.DATA)
        for n in range(1, len(good)):
            with self.assertRaises(LogError):
                eventlog.parse_ima_log(good[:n])
        cases = [
            ima_entry(10, self.DATA, digest=b"\x01" * 20),          # digest does not match
            ima_entry(24, self.DATA),                               # PCR out of range
            ima_entry(10, self.DATA, name=b""),                     # empty template name
            ima_entry(10, self.DATA, name=b"x" * 256),              # template name too long
            ima_entry(10, self.DATA, name=b"ima"),                  # unsupported template
            good[:24] + struct.pack("<I", 0xFFFFFFFF) + good[28:],  # name length oversized
            good[:-len(self.DATA) - 4] + struct.pack("<I", len(self.DATA) + 1) + self.DATA,
        ]
        for case in cases:
            with self.assertRaises(LogError):
                eventlog.parse_ima_log(case)


class MalformedLogTests(unittest.TestCase):
    def test_every_truncation_is_refused_or_a_shorter_log(self):
        log, boundaries = make_log()
        for n in range(len(log)):
            if n in boundaries:
                parsed = eventlog.parse_firmware_log(log[:n])
                self.assertEqual(len(parsed.events), boundaries.index(n))
            else:
                with self.assertRaises(LogError, msg=f"prefix of {n} bytes"):
                    eventlog.parse_firmware_log(log[:n])

    def refused(self, data, words):
        with self.assertRaises(LogError) as ctx:
            eventlog.parse_firmware_log(data)
        self.assertIn(words, str(ctx.exception))

    def test_header_and_spec_id(self):
        sid = spec_id(ALGS)
        self.refused(header(sid, etype=4), "EV_NO_ACTION")
        self.refused(header(sid, pcr=1), "EV_NO_ACTION")
        self.refused(header(sid, digest=b"\x01" * 20), "zero")
        self.refused(header(spec_id(ALGS, signature=b"Spec ID Event00\x00")), "SHA-1-only")
        self.refused(header(spec_id(ALGS, signature=b"Something else\x00\x00")), "not a Spec ID")
        self.refused(header(spec_id([])), "numberOfAlgorithms 0")
        self.refused(header(spec_id(ALGS, count=0xFFFFFFFF)), "does not fit")
        self.refused(header(spec_id(ALGS, count=3)), "does not fit")
        self.refused(header(spec_id([(SHA256, 20)])), "digest size 20")
        self.refused(header(spec_id([(SHA1, 20), (SHA1, 20)])), "listed twice")
        self.refused(header(spec_id([(0x7777, 0)])), "digest size 0")
        self.refused(header(sid + b"\0"), "unexpected bytes")
        self.refused(header(spec_id(ALGS, vendor=b"abc"))[:-1], "header event")
        big = struct.pack("<II", 0, 3) + bytes(20) + struct.pack("<I", 0xFFFFFFFF) + sid
        self.refused(big, "header event")

    def test_events(self):
        base = header(spec_id(ALGS))
        d1, d256 = bytes(20), bytes(32)
        self.refused(base + event2(0, 1, [(SHA1, d1)], b""), "1 digests")
        self.refused(base + event2(0, 1, [(SHA1, d1), (SHA384, d256)], b""), "not in the Spec")
        self.refused(base + event2(0, 1, [(SHA1, d1), (SHA1, d1)], b""), "appears twice")
        self.refused(base + event2(24, 1, [(SHA1, d1), (SHA256, d256)], b""), "out of range")
        self.refused(base + event2(0, 1, [(SHA1, d1), (SHA256, d256)], b"ab", size=0xFFFFFFFF),
                     "event needs 4294967295 bytes")
        self.refused(base + struct.pack("<III", 0, 1, 0xFFFFFFFF), "4294967295 digests")
        self.refused(base + event2(0, 1, [(SHA1, d1), (SHA256, d256)], b"")[:-1], "eventSize")

    def test_startup_locality_wrong_size(self):
        log, _ = make_log([(0, 0x3, b"StartupLocality\x00\x03\x00")])
        with self.assertRaises(LogError):
            eventlog.replay(eventlog.parse_firmware_log(log), [], SHA1)

    def test_random_mutations_raise_only_logerror(self):
        with open(os.path.join(VECTOR, "eventlog.bin"), "rb") as f:
            real = f.read()
        rng = random.Random(20240601)
        for _ in range(3000):
            data = bytearray(real)
            for _ in range(rng.randint(1, 8)):
                op = rng.randrange(3)
                pos = rng.randrange(len(data))
                if op == 0:
                    data[pos] = rng.randrange(256)
                elif op == 1:
                    del data[pos:pos + rng.randint(1, 64)]
                else:
                    data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            try:
                log = eventlog.parse_firmware_log(bytes(data))
                for alg, _ in log.algs:
                    if alg in eventlog.HASH_ALGS:
                        eventlog.replay(log, [], alg)
            except LogError:
                pass


class PcrListTests(unittest.TestCase):
    def test_good(self):
        banks = eventlog.parse_pcrs(pcr_text(expected_pcrs()))
        self.assertEqual(sorted(banks), [SHA1, SHA256])

    def test_malformed(self):
        good = pcr_text(expected_pcrs()).splitlines()
        cases = {
            "lacks PCRs 23": good[:23],
            "listed twice": good + good[:1],
            "not hex": good[:1] + [good[1].replace(good[1].split()[2], "zz" * 20)] + good[2:],
            "value of 19 bytes": [good[0][:-2]] + good[1:],
            "unknown bank": good + ["md5 0 " + "00" * 16],
            "out of range": good + ["sha1 24 " + "00" * 20],
            "expected": good + ["sha1 0"],
            "no PCR values": [],
        }
        for words, lines in cases.items():
            with self.assertRaises(LogError) as ctx:
                eventlog.parse_pcrs("\n".join(lines) + "\n")
            self.assertIn(words, str(ctx.exception))


class RealBootTests(unittest.TestCase):
    """A log, IMA list and PCR values saved from an OVMF 2022.11 + swtpm 0.7.1 + Debian 6.1
    boot by tests/guest/run.sh (see vectors/README)."""

    def paths(self):
        return [os.path.join(VECTOR, n) for n in ("eventlog.bin", "pcrs.txt", "ima.bin")]

    def test_real_boot_matches(self):
        log, pcrs, ima = self.paths()
        rc = quiet_main(["check", "--log", log, "--pcrs", pcrs, "--ima", ima])
        self.assertEqual(rc, 0)

    def test_real_boot_without_ima_fails_on_pcr10(self):
        log, pcrs, _ = self.paths()
        with open(log, "rb") as f, open(pcrs) as p:
            problems, out = run_check(f.read(), eventlog.parse_pcrs(p.read()))
        self.assertEqual(problems, 4, out)
        self.assertIn("PCR 10", out)

    def test_real_boot_with_one_digest_changed_fails(self):
        log, pcrs, ima = self.paths()
        with open(log, "rb") as f:
            data = bytearray(f.read())
        parsed = eventlog.parse_firmware_log(bytes(data))
        target = parsed.events[9].digests[SHA256]       # the kernel, on PCR 4
        at = bytes(data).index(target)
        data[at] ^= 1
        with tempfile.TemporaryDirectory() as tmp:
            bad = os.path.join(tmp, "eventlog.bin")
            with open(bad, "wb") as f:
                f.write(data)
            rc = quiet_main(["check", "--log", bad, "--pcrs", pcrs, "--ima", ima])
            self.assertEqual(rc, 1)
            with open(bad, "wb") as f:
                f.write(data[:-3])
            rc = quiet_main(["check", "--log", bad, "--pcrs", pcrs, "--ima", ima])
            self.assertEqual(rc, 2)


if __name__ == "__main__":
    unittest.main(verbosity=1)
