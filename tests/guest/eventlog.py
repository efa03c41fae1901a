#!/usr/bin/env python3
"""Replay a guest's measurement logs and compare them with the PCR values the guest read.

Written from the TCG PC Client Platform Firmware Profile Specification (family 2.0, "Event
Logging" chapter): the crypto-agile log is one TCG_PCR_EVENT (SHA-1 layout) whose event is the
TCG_EfiSpecIdEvent ("Spec ID Event03"), then TCG_PCR_EVENT2 records, each with one digest per
algorithm the Spec ID event lists. EV_NO_ACTION records are never extended; a "StartupLocality"
EV_NO_ACTION record sets the initial value of PCR 0. All integers in the log are little-endian.

Linux's IMA list (/sys/kernel/security/ima/binary_runtime_measurements, described in the kernel's
Documentation/security/IMA-templates.rst) extends PCR 10 after the firmware is gone. Its records
are: PCR (u32), SHA-1 template digest, template name (u32 length + bytes), template data (u32
length + bytes). For each bank IMA extends H_bank(template data) when the kernel had that hash at
IMA's start, and otherwise the SHA-1 template digest padded with zeros (Debian's cloud kernel
builds SHA-384/512 as a module, so those banks get the padded form); the check accepts either,
one form per bank for the whole list, and says which. A violation is logged with a zero digest
and extended as all-ones.

Usage:
  eventlog.py check --log eventlog.bin --pcrs pcrs.txt [--ima ima.bin]
  eventlog.py dump --log eventlog.bin [--ima ima.bin]

pcrs.txt holds "<bank> <index> <hex>" lines (bank names as Linux spells them in
/sys/class/tpm/tpm0/pcr-<bank>). `check` exits 0 when every PCR of every bank equals its replayed
value (or its reset value when no log touches it), 1 on a mismatch, 2 when an input is malformed.
The logs come from the guest: they are untrusted bytes and every length is checked before use.
"""

import argparse
import hashlib
import struct
import sys

NUM_PCRS = 24

EV_NO_ACTION = 0x00000003
SPEC_ID_SIGNATURE = b"Spec ID Event03\x00"
SPEC_ID_SHA1_SIGNATURE = b"Spec ID Event00\x00"
STARTUP_LOCALITY_SIGNATURE = b"StartupLocality\x00"

# TPM_ALG_ID values (TPM 2.0 Part 2, table "TPM_ALG_ID") of the hashes a PCR bank can use:
# (name in Linux sysfs, hashlib name, digest size).
HASH_ALGS = {
    0x0004: ("sha1", "sha1", 20),
    0x000B: ("sha256", "sha256", 32),
    0x000C: ("sha384", "sha384", 48),
    0x000D: ("sha512", "sha512", 64),
    0x0012: ("sm3", "sm3", 32),
}
ALG_BY_NAME = {name: alg for alg, (name, _, _) in HASH_ALGS.items()}
ALG_BY_NAME["sm3_256"] = 0x0012

EVENT_TYPES = {
    0x00000000: "EV_PREBOOT_CERT",
    0x00000001: "EV_POST_CODE",
    0x00000002: "EV_UNUSED",
    0x00000003: "EV_NO_ACTION",
    0x00000004: "EV_SEPARATOR",
    0x00000005: "EV_ACTION",
    0x00000006: "EV_EVENT_TAG",
    0x00000007: "EV_S_CRTM_CONTENTS",
    0x00000008: "EV_S_CRTM_VERSION",
    0x00000009: "EV_CPU_MICROCODE",
    0x0000000A: "EV_PLATFORM_CONFIG_FLAGS",
    0x0000000B: "EV_TABLE_OF_DEVICES",
    0x0000000C: "EV_COMPACT_HASH",
    0x0000000D: "EV_IPL",
    0x0000000E: "EV_IPL_PARTITION_DATA",
    0x0000000F: "EV_NONHOST_CODE",
    0x00000010: "EV_NONHOST_CONFIG",
    0x00000011: "EV_NONHOST_INFO",
    0x00000012: "EV_OMIT_BOOT_DEVICE_EVENTS",
    0x80000001: "EV_EFI_VARIABLE_DRIVER_CONFIG",
    0x80000002: "EV_EFI_VARIABLE_BOOT",
    0x80000003: "EV_EFI_BOOT_SERVICES_APPLICATION",
    0x80000004: "EV_EFI_BOOT_SERVICES_DRIVER",
    0x80000005: "EV_EFI_RUNTIME_SERVICES_DRIVER",
    0x80000006: "EV_EFI_GPT_EVENT",
    0x80000007: "EV_EFI_ACTION",
    0x80000008: "EV_EFI_PLATFORM_FIRMWARE_BLOB",
    0x80000009: "EV_EFI_HANDOFF_TABLES",
    0x8000000A: "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
    0x8000000B: "EV_EFI_HANDOFF_TABLES2",
    0x8000000C: "EV_EFI_VARIABLE_BOOT2",
    0x80000010: "EV_EFI_HCRTM_EVENT",
    0x800000E0: "EV_EFI_VARIABLE_AUTHORITY",
    0x800000E1: "EV_EFI_SPDM_FIRMWARE_BLOB",
    0x800000E2: "EV_EFI_SPDM_FIRMWARE_CONFIG",
}


class LogError(Exception):
    """A log, or the PCR list, is malformed; the message says where and why."""


class Reader:
    """Bounded little-endian reader over bytes: every read checks what is left first."""

    def __init__(self, data, what, base=0):
        self.data = bytes(data)
        self.pos = 0
        self.what = what
        self.base = base

    def left(self):
        return len(self.data) - self.pos

    def offset(self):
        return self.base + self.pos

    def take(self, n, field):
        if n < 0 or n > self.left():
            raise LogError(f"{self.what}: {field} needs {n} bytes at offset {self.offset()}, "
                           f"only {self.left()} left")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self, field):
        return self.take(1, field)[0]

    def u16(self, field):
        return struct.unpack("<H", self.take(2, field))[0]

    def u32(self, field):
        return struct.unpack("<I", self.take(4, field))[0]

    def sized(self, n, field):
        """A child reader over the next n bytes (a sized field)."""
        base = self.offset()
        return Reader(self.take(n, field), f"{self.what} {field}", base)

    def done(self, field):
        if self.left():
            raise LogError(f"{self.what}: {self.left()} unexpected bytes after {field} "
                           f"at offset {self.offset()}")


class Event:
    def __init__(self, index, pcr, etype, digests, data):
        self.index = index
        self.pcr = pcr
        self.etype = etype
        self.digests = digests      # {alg: bytes}
        self.data = data


class FirmwareLog:
    def __init__(self, spec, algs, events):
        self.spec = spec            # dict of the Spec ID event's fields
        self.algs = algs            # [(alg, digest size)] in Spec ID order
        self.events = events        # [Event], the Spec ID header excluded


def parse_spec_id(data):
    """TCG_EfiSpecIdEvent: signature, platformClass, version, uintnSize, digest sizes, vendor."""
    r = Reader(data, "Spec ID event")
    sig = r.take(16, "signature")
    if sig == SPEC_ID_SHA1_SIGNATURE:
        raise LogError("the event log is in the SHA-1-only format (Spec ID Event00); "
                       "only the crypto-agile format (Spec ID Event03) is supported")
    if sig != SPEC_ID_SIGNATURE:
        raise LogError(f"the first event is not a Spec ID event (signature {sig!r})")
    spec = {
        "platform_class": r.u32("platformClass"),
        "version_minor": r.u8("specVersionMinor"),
        "version_major": r.u8("specVersionMajor"),
        "errata": r.u8("specErrata"),
        "uintn_size": r.u8("uintnSize"),
    }
    count = r.u32("numberOfAlgorithms")
    if count == 0 or count * 4 > r.left():
        raise LogError(f"Spec ID event: numberOfAlgorithms {count} does not fit its "
                       f"{r.left()} remaining bytes")
    algs = []
    for i in range(count):
        alg = r.u16(f"digestSizes[{i}].algorithmId")
        size = r.u16(f"digestSizes[{i}].digestSize")
        if any(alg == a for a, _ in algs):
            raise LogError(f"Spec ID event: algorithm 0x{alg:04x} is listed twice")
        if alg in HASH_ALGS and HASH_ALGS[alg][2] != size:
            raise LogError(f"Spec ID event: algorithm {HASH_ALGS[alg][0]} with digest size "
                           f"{size}, not {HASH_ALGS[alg][2]}")
        if size == 0:
            raise LogError(f"Spec ID event: algorithm 0x{alg:04x} has digest size 0")
        algs.append((alg, size))
    vendor_size = r.u8("vendorInfoSize")
    r.take(vendor_size, "vendorInfo")
    r.done("vendorInfo")
    return spec, algs


def parse_firmware_log(data):
    r = Reader(data, "event log")
    # The header: TCG_PCR_EVENT with a SHA-1 sized digest field that must be zero.
    pcr = r.u32("header pcrIndex")
    etype = r.u32("header eventType")
    digest = r.take(20, "header digest")
    size = r.u32("header eventSize")
    body = r.take(size, "header event")
    if pcr != 0 or etype != EV_NO_ACTION or digest != bytes(20):
        raise LogError(f"the log header is not an EV_NO_ACTION event on PCR 0 with a zero "
                       f"digest (PCR {pcr}, type 0x{etype:x})")
    spec, algs = parse_spec_id(body)
    sizes = dict(algs)
    events = []
    index = 1
    while r.left():
        start = r.offset()
        where = f"event {index} at offset {start}"
        pcr = r.u32(f"{where}: pcrIndex")
        etype = r.u32(f"{where}: eventType")
        count = r.u32(f"{where}: digests.count")
        if count != len(algs):
            raise LogError(f"{where}: {count} digests, the Spec ID event lists {len(algs)}")
        digests = {}
        for i in range(count):
            alg = r.u16(f"{where}: digests[{i}].hashAlg")
            if alg not in sizes:
                raise LogError(f"{where}: digest algorithm 0x{alg:04x} is not in the Spec ID "
                               f"event")
            if alg in digests:
                raise LogError(f"{where}: digest algorithm 0x{alg:04x} appears twice")
            digests[alg] = r.take(sizes[alg], f"{where}: digests[{i}]")
        size = r.u32(f"{where}: eventSize")
        body = r.take(size, f"{where}: event")
        if pcr >= NUM_PCRS:
            raise LogError(f"{where}: PCR index {pcr} is out of range (0-{NUM_PCRS - 1})")
        events.append(Event(index, pcr, etype, digests, body))
        index += 1
    return FirmwareLog(spec, algs, events)


class ImaEntry:
    def __init__(self, index, pcr, digest, name, data):
        self.index = index
        self.pcr = pcr
        self.digest = digest
        self.name = name
        self.data = data


def parse_ima_log(data):
    r = Reader(data, "IMA log")
    entries = []
    index = 0
    while r.left():
        where = f"IMA entry {index} at offset {r.offset()}"
        pcr = r.u32(f"{where}: pcr")
        digest = r.take(20, f"{where}: template digest")
        name_len = r.u32(f"{where}: template name length")
        if name_len == 0 or name_len > 255:
            raise LogError(f"{where}: template name length {name_len} is out of range (1-255)")
        name = r.take(name_len, f"{where}: template name").decode("ascii", "replace")
        if name == "ima":
            raise LogError(f"{where}: the original 'ima' template is not supported")
        data_len = r.u32(f"{where}: template data length")
        tdata = r.take(data_len, f"{where}: template data")
        if pcr >= NUM_PCRS:
            raise LogError(f"{where}: PCR index {pcr} is out of range (0-{NUM_PCRS - 1})")
        if digest != bytes(20) and hashlib.sha1(tdata).digest() != digest:
            raise LogError(f"{where}: the SHA-1 template digest does not match its data")
        entries.append(ImaEntry(index, pcr, digest, name, tdata))
        index += 1
    return entries


def parse_pcrs(text):
    """'<bank> <index> <hex>' lines -> {alg: [24 values]}."""
    banks = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3:
            raise LogError(f"PCR list line {lineno}: expected '<bank> <index> <hex>'")
        name, idx, value = fields
        if name not in ALG_BY_NAME:
            raise LogError(f"PCR list line {lineno}: unknown bank {name!r}")
        alg = ALG_BY_NAME[name]
        if not idx.isdigit() or int(idx) >= NUM_PCRS:
            raise LogError(f"PCR list line {lineno}: PCR index {idx!r} is out of range")
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise LogError(f"PCR list line {lineno}: {value!r} is not hex") from None
        if len(raw) != HASH_ALGS[alg][2]:
            raise LogError(f"PCR list line {lineno}: {name} value of {len(raw)} bytes")
        values = banks.setdefault(alg, [None] * NUM_PCRS)
        if values[int(idx)] is not None:
            raise LogError(f"PCR list line {lineno}: {name}:{idx} is listed twice")
        values[int(idx)] = raw
    for alg, values in banks.items():
        missing = [str(i) for i, v in enumerate(values) if v is None]
        if missing:
            raise LogError(f"PCR list: bank {HASH_ALGS[alg][0]} lacks PCRs {','.join(missing)}")
    if not banks:
        raise LogError("PCR list: no PCR values")
    return banks


def reset_value(pcr, size, locality=0):
    """PCR values after TPM2_Startup(CLEAR) on a PC Client TPM: PCRs 17-22 all ones (no D-RTM
    has run), PCR 0 holds the startup locality in its last byte, the rest zero."""
    if 17 <= pcr <= 22:
        return b"\xff" * size
    if pcr == 0:
        return bytes(size - 1) + bytes([locality])
    return bytes(size)


def hasher(alg):
    name = HASH_ALGS[alg][1]
    try:
        hashlib.new(name)
    except ValueError:
        raise LogError(f"cannot replay bank {HASH_ALGS[alg][0]}: this Python has no {name}") \
            from None
    return lambda data: hashlib.new(name, data).digest()


def startup_locality(log):
    locality = 0
    for ev in log.events:
        if ev.etype == EV_NO_ACTION and ev.pcr == 0 and \
                ev.data[:16] == STARTUP_LOCALITY_SIGNATURE:
            if len(ev.data) != 17:
                raise LogError(f"event {ev.index}: StartupLocality event of {len(ev.data)} "
                               f"bytes, not 17")
            locality = ev.data[16]
    return locality


IMA_FULL = "hash"
IMA_PADDED = "padded-sha1"


def replay(log, ima, alg, ima_form=IMA_FULL):
    """Replay both logs for one bank: (values, touched PCRs, events extended). ima_form says
    what IMA extended into this bank: H_bank(template data) or the padded SHA-1 digest."""
    size = HASH_ALGS[alg][2]
    h = hasher(alg)
    locality = startup_locality(log)
    values = [reset_value(i, size, locality) for i in range(NUM_PCRS)]
    touched = set()
    count = 0
    for ev in log.events:
        if ev.etype == EV_NO_ACTION:
            continue
        values[ev.pcr] = h(values[ev.pcr] + ev.digests[alg])
        touched.add(ev.pcr)
        count += 1
    for entry in ima:
        if entry.digest == bytes(20):
            digest = b"\xff" * size     # a violation: IMA extends all ones
        elif ima_form == IMA_PADDED and alg != 0x0004:
            digest = entry.digest + bytes(size - 20)
        else:
            digest = h(entry.data)
        values[entry.pcr] = h(values[entry.pcr] + digest)
        touched.add(entry.pcr)
        count += 1
    return values, touched, count


def check(log, ima, banks, out):
    """Compare every PCR of every bank; return the number of problems found."""
    problems = 0
    log_algs = [a for a, _ in log.algs]
    for alg in log_algs:
        if alg not in banks:
            name = HASH_ALGS.get(alg, (f"0x{alg:04x}",))[0]
            out.write(f"FAIL: the event log carries {name} digests, but the guest read no "
                      f"{name} bank\n")
            problems += 1
    for alg in sorted(banks):
        name = HASH_ALGS[alg][0]
        if alg not in log_algs:
            out.write(f"FAIL: the TPM has an active {name} bank, but the event log carries no "
                      f"{name} digests\n")
            problems += 1
            continue
        values, touched, count = replay(log, ima, alg)
        form = IMA_FULL
        ima_pcrs = {e.pcr for e in ima}
        if alg != 0x0004 and any(banks[alg][i] != values[i] for i in ima_pcrs):
            padded = replay(log, ima, alg, IMA_PADDED)[0]
            if all(banks[alg][i] == padded[i] for i in ima_pcrs):
                values, form = padded, IMA_PADDED
        bad = 0
        for i in range(NUM_PCRS):
            if banks[alg][i] != values[i]:
                why = "replays to" if i in touched else "is untouched by the logs; reset value"
                out.write(f"FAIL: {name} PCR {i}: read {banks[alg][i].hex()}, {why} "
                          f"{values[i].hex()}\n")
                bad += 1
        status = "ok" if not bad else f"{bad} mismatches"
        note = f", IMA extends {form}" if ima else ""
        out.write(f"{name}: {status}: {NUM_PCRS} PCRs, {count} extends replayed{note}, touched "
                  f"{','.join(str(i) for i in sorted(touched)) or 'none'}\n")
        problems += bad
    return problems


def dump(log, ima, out):
    s = log.spec
    algs = ", ".join(f"{HASH_ALGS.get(a, (f'0x{a:04x}',))[0]}({n})" for a, n in log.algs)
    out.write(f"Spec ID Event03: platform class {s['platform_class']}, spec "
              f"{s['version_major']}.{s['version_minor']} errata {s['errata']}, "
              f"uintn {s['uintn_size']}, algorithms {algs}\n")
    show = 0x000B if any(a == 0x000B for a, _ in log.algs) else log.algs[0][0]
    for ev in log.events:
        name = EVENT_TYPES.get(ev.etype, f"0x{ev.etype:08x}")
        text = ev.data.decode("utf-16-le" if ev.data[1:2] == b"\0" else "ascii", "replace")
        printable = all(c.isprintable() for c in text.rstrip("\0"))
        desc = repr(text.rstrip("\0"))[:60] if printable and text else f"{len(ev.data)} bytes"
        out.write(f"{ev.index:3d} PCR {ev.pcr:2d} {name:34s} {ev.digests[show].hex()[:16]}… "
                  f"{desc}\n")
    for entry in ima:
        out.write(f"IMA {entry.index:3d} PCR {entry.pcr:2d} {entry.name} "
                  f"{entry.digest.hex()[:16]}… {len(entry.data)} bytes\n")


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise LogError(f"cannot read {path}: {e.strerror}") from None


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="replay the logs and compare with the PCRs read")
    c.add_argument("--log", required=True, help="binary_bios_measurements")
    c.add_argument("--pcrs", required=True, help="'<bank> <index> <hex>' lines")
    c.add_argument("--ima", help="binary_runtime_measurements (IMA)")
    d = sub.add_parser("dump", help="list the events")
    d.add_argument("--log", required=True)
    d.add_argument("--ima")
    args = p.parse_args(argv)
    try:
        log = parse_firmware_log(read_file(args.log))
        ima = parse_ima_log(read_file(args.ima)) if args.ima else []
        if args.cmd == "dump":
            dump(log, ima, sys.stdout)
            return 0
        banks = parse_pcrs(read_file(args.pcrs).decode("ascii", "replace"))
        problems = check(log, ima, banks, sys.stdout)
    except LogError as e:
        print(f"eventlog: refused: {e}", file=sys.stderr)
        return 2
    if problems:
        print(f"eventlog: {problems} problems: the PCRs do not match the logs")
        return 1
    print(f"eventlog: all {len(banks)} banks match: {len(log.events)} firmware events, "
          f"{len(ima)} IMA entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
