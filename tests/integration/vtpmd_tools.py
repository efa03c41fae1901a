#!/usr/bin/env python3
"""Debian's tpm2-tools against vtpmd through the tpm2-tss swtpm TCTI.

Usage: vtpmd_tools.py VTPMD [TEST ...]

`-T swtpm:host=127.0.0.1,port=P` (control on P+1) and `-T swtpm:path=S` (control on
S.ctrl), exactly as a user of swtpm would. The TCTI never sends CMD_INIT, so vtpmd runs with
--flags not-need-init, as swtpm must. Every tool's output is checked, not only its exit code.
Tools that need HMAC sessions (tpm2_changeauth, tpm2_clear, tpm2_dictionarylockout,
tpm2_pcrallocate, ...) wait for the engine's sessions; the state changes they would make are
sent raw with a password session through tpm2_send instead.
"""

import hashlib
import os
import re
import signal
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vtpmd_harness import Daemon, Runner, expect, expect_eq, pw_session, tpm_cmd  # noqa: E402

VTPMD = None
BANKS = ("sha1", "sha256", "sha384", "sha512")


def tool(d, *args, tcti=None, check=True, stdin=None):
    t = tcti or ("swtpm:host=127.0.0.1,port=%d" % d.port)
    p = subprocess.run(["tpm2_" + args[0], "-T", t] + list(args[1:]), input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("tpm2_%s %s failed (%d): %s" % (
            args[0], " ".join(args[1:]), p.returncode, p.stderr.decode(errors="replace")))
    return p


def out(d, *args, **kw):
    return tool(d, *args, **kw).stdout.decode()


def parse_pcrs(text):
    """{bank: {index: bytes}} from tpm2_pcrread's output."""
    banks, bank = {}, None
    for line in text.splitlines():
        m = re.match(r"^\s+(sha\d+):\s*$", line)
        if m:
            bank = m.group(1)
            banks[bank] = {}
            continue
        m = re.match(r"^\s+(\d+)\s*:\s*0x([0-9A-Fa-f]+)\s*$", line)
        if m and bank:
            banks[bank][int(m.group(1))] = bytes.fromhex(m.group(2))
    # tpm2_pcrread names a bank with nothing selected in it too: leave those out.
    return {b: v for b, v in banks.items() if v}


def start(extra=(), state=None, kind="tcp"):
    return Daemon(VTPMD, kind, ["--flags", "not-need-init"] + list(extra), state=state)


def test_startup_selftest():
    d = start()
    tool(d, "startup", "-c")
    tool(d, "selftest", "--fulltest")
    res = out(d, "gettestresult")
    expect("status:   success" in res or "status: success" in res, "gettestresult: %s" % res)
    # The TPM answered through the control channel too: SET_LOCALITY(0) at each TCTI init.
    expect("ctrl: SET_LOCALITY -> 0x0" in d.log_text(), "TCTI's SET_LOCALITY seen")


def test_getrandom():
    d = start(["--flags", "startup-clear"])
    a = out(d, "getrandom", "--hex", "32").strip()
    b = out(d, "getrandom", "--hex", "32").strip()
    expect(re.fullmatch(r"[0-9a-f]{64}", a) is not None, "32 random bytes in hex: %r" % a)
    expect(a != b, "two draws differ")
    p = tool(d, "getrandom", "-o", os.path.join(d.dir, "r.bin"), "48")
    expect_eq(os.path.getsize(os.path.join(d.dir, "r.bin")), 48, "48 bytes to a file")
    del p


def test_pcrread_extend():
    d = start(["--flags", "startup-clear"])
    pcrs = parse_pcrs(out(d, "pcrread"))
    expect_eq(sorted(pcrs), sorted(BANKS), "all four banks allocated (swtpm's default)")
    sizes = {"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}
    for bank, vals in pcrs.items():
        expect_eq(sorted(vals), list(range(24)), "PCRs of %s" % bank)
        for i, v in vals.items():
            expect_eq(len(v), sizes[bank], "size of %s:%d" % (bank, i))
            # PC Client: PCRs 17-22 start at all ones until a DRTM event, the others at 0.
            want = b"\xff" * sizes[bank] if 17 <= i <= 22 else bytes(sizes[bank])
            expect_eq(v, want, "initial %s:%d" % (bank, i))
    # Extend PCR 16 in two banks; each must be H(old || digest).
    d256 = hashlib.sha256(b"vtpmd").hexdigest()
    d1 = hashlib.sha1(b"vtpmd").hexdigest()
    tool(d, "pcrextend", "16:sha256=%s,sha1=%s" % (d256, d1))
    pcrs = parse_pcrs(out(d, "pcrread", "sha256:16+sha1:16"))
    expect_eq(pcrs["sha256"][16], hashlib.sha256(bytes(32) + bytes.fromhex(d256)).digest(),
              "sha256:16 after extend")
    expect_eq(pcrs["sha1"][16], hashlib.sha1(bytes(20) + bytes.fromhex(d1)).digest(),
              "sha1:16 after extend")
    # The other banks did not move.
    pcrs = parse_pcrs(out(d, "pcrread", "sha384:16"))
    expect_eq(pcrs["sha384"][16], bytes(48), "sha384:16 untouched")


def test_hash():
    d = start(["--flags", "startup-clear"])
    data = os.urandom(1000)
    path = os.path.join(d.dir, "data.bin")
    with open(path, "wb") as f:
        f.write(data)
    for alg in BANKS:
        got = out(d, "hash", "-g", alg, "--hex", path).strip()
        expect_eq(got, hashlib.new(alg, data).hexdigest(), "tpm2_hash %s" % alg)
    # With a ticket for the owner hierarchy, into files.
    tool(d, "hash", "-C", "o", "-g", "sha256", "-o", path + ".dig", "-t", path + ".tkt", path)
    expect_eq(open(path + ".dig", "rb").read(), hashlib.sha256(data).digest(), "digest file")
    expect(os.path.getsize(path + ".tkt") > 0, "ticket written")
    # Larger than one command: tpm2_hash uses a hash sequence.
    big = os.urandom(5000)
    with open(path, "wb") as f:
        f.write(big)
    got = out(d, "hash", "-g", "sha384", "--hex", path).strip()
    expect_eq(got, hashlib.sha384(big).hexdigest(), "tpm2_hash of 5000 bytes")


def test_getcap():
    d = start(["--flags", "startup-clear"])
    caps = out(d, "getcap", "-l").split()
    caps = [c for c in caps if c != "-"]
    expect("algorithms" in caps and "commands" in caps, "capability list: %s" % caps)
    results = {c: out(d, "getcap", c) for c in caps}
    algs = results["algorithms"]
    for a in ("sha1", "sha256", "sha384", "sha512"):
        expect(re.search(r"^%s:" % a, algs, re.M), "algorithm %s listed" % a)
    cmds = results["commands"]
    for cc in ("TPM2_CC_Startup", "TPM2_CC_GetRandom", "TPM2_CC_PCR_Extend",
               "TPM2_CC_GetCapability", "TPM2_CC_ReadClock"):
        expect(cc in cmds, "%s listed" % cc)
    pcrs = results["pcrs"]
    for b in BANKS:
        expect("%s: [ 0, 1, 2" % b in pcrs, "bank %s in pcrs" % b)
    fixed = results["properties-fixed"]
    expect(re.search(r'TPM2_PT_FAMILY_INDICATOR:\s+raw: 0x322E3000\s+value: "2.0"', fixed),
           "family 2.0")
    expect(re.search(r"TPM2_PT_INPUT_BUFFER:\s+raw: 0x", fixed) or "TPM2_PT_MAX_COMMAND_SIZE"
           in fixed, "buffer sizes")
    var = results["properties-variable"]
    expect(re.search(r"TPM2_PT_MAX_AUTH_FAIL: 0x", var), "DA properties")
    expect(re.search(r"startupClear:\s+set", var) or "TPM2_PT_STARTUP_CLEAR" in var,
           "startup-clear attributes")
    handles = results["handles-pcr"].split()
    expect_eq(len([h for h in handles if h.startswith("0x")]), 24, "24 PCR handles")
    perm = results["handles-permanent"]
    for h in ("0x40000001", "0x4000000C"):  # owner, platform
        expect(h in perm, "permanent handle %s" % h)
    expect(results["handles-transient"].strip() == "", "no transient objects")
    expect(results["handles-persistent"].strip() == "", "no persistent objects")


def test_testparms():
    """TestParms agrees with GetCapability(TPM_CAP_ALGS): accepted exactly when listed."""
    d = start(["--flags", "startup-clear"])
    algs = out(d, "getcap", "algorithms")
    for alg in ("rsa", "ecc", "aes", "keyedhash"):
        listed = re.search(r"^%s:" % alg, algs, re.M) is not None
        p = tool(d, "testparms", alg, check=False)
        expect_eq(p.returncode == 0, listed, "testparms %s (listed: %s)" % (alg, listed))
    p = tool(d, "testparms", "rsa12345", check=False)
    expect(p.returncode != 0, "a nonsense parameter set is refused")


def test_readclock():
    d = start(["--flags", "startup-clear"])

    def clock():
        text = out(d, "readclock")
        m = re.search(r"clock: (\d+)", text)
        r = re.search(r"reset_count: (\d+)", text)
        expect(m and r and "safe: yes" in text, "readclock output: %s" % text)
        return int(m.group(1)), int(r.group(1))

    c1, r1 = clock()
    import time
    time.sleep(0.3)
    c2, r2 = clock()
    expect(c2 >= c1 + 250, "clock advances (%d -> %d)" % (c1, c2))
    expect_eq(r2, r1, "same reset count")


def pcr_allocate_sha256_only():
    """TPM2_PCR_Allocate(platform): only the sha256 bank (takes effect at the next reset)."""
    sel = struct.pack(">I", 4)
    for alg, mask in ((0x0004, 0), (0x000B, 0xFFFFFF), (0x000C, 0), (0x000D, 0)):
        sel += struct.pack(">HB", alg, 3) + mask.to_bytes(3, "little")
    return tpm_cmd(0x12B, struct.pack(">I", 0x4000000C) + pw_session() + sel, tag=0x8002)


def da_parameters(max_tries, recovery, lockout_recovery):
    return tpm_cmd(0x13A, struct.pack(">I", 0x4000000A) + pw_session() +
                   struct.pack(">III", max_tries, recovery, lockout_recovery), tag=0x8002)


def send_raw(d, command):
    rsp = tool(d, "send", stdin=command).stdout
    expect(len(rsp) >= 10, "tpm2_send response")
    return struct.unpack(">I", rsp[6:10])[0]


def test_state_survives_restart():
    d = start(["--flags", "startup-clear"])
    expect_eq(send_raw(d, da_parameters(7, 11, 13)), 0, "DictionaryAttackParameters")
    expect_eq(send_raw(d, pcr_allocate_sha256_only()), 0, "PCR_Allocate")
    # Still four banks until the TPM resets.
    expect_eq(sorted(parse_pcrs(out(d, "pcrread"))), sorted(BANKS), "before the restart")
    var = out(d, "getcap", "properties-variable")
    expect("TPM2_PT_MAX_AUTH_FAIL: 0x7" in var, "max tries 7 now")
    expect_eq(d.stop(), 0, "vtpmd exit code on SIGTERM")
    # A new process on the same state directory: the same TPM, reset.
    d2 = start(["--flags", "startup-clear"], state=d.state)
    expect_eq(list(parse_pcrs(out(d2, "pcrread"))), ["sha256"], "only sha256 after restart")
    pcrs = out(d2, "getcap", "pcrs")
    expect("sha256: [ 0, 1, 2" in pcrs and "sha1: [ ]" in pcrs, "allocation: %s" % pcrs)
    var = out(d2, "getcap", "properties-variable")
    expect("TPM2_PT_MAX_AUTH_FAIL: 0x7" in var, "max tries kept")
    expect("TPM2_PT_LOCKOUT_INTERVAL: 0xB" in var, "recovery time kept")
    expect("TPM2_PT_LOCKOUT_RECOVERY: 0xD" in var, "lockout recovery kept")
    rc = out(d2, "readclock")
    expect(re.search(r"reset_count: [1-9]", rc), "reset count moved on: %s" % rc)


def test_startup_state():
    """--flags startup-state resumes after an orderly TPM2_Shutdown(STATE) (TPM Resume)."""
    d = start(["--flags", "startup-state"])
    # A new TPM has no saved state: Startup(STATE) is refused, logged, and the TPM waits.
    expect("--flags startup-state: TPM2_Startup answered 0x" in d.log_text(), "refusal logged")
    p = tool(d, "getrandom", "8", check=False)
    expect(p.returncode != 0 and b"0x100" in p.stderr, "not started: %s" % p.stderr)
    tool(d, "startup", "-c")
    d256 = hashlib.sha256(b"resume").hexdigest()
    # PCR 8 is saved by Shutdown(STATE); PCR 16 (debug) is not (PC Client profile).
    tool(d, "pcrextend", "8:sha256=%s" % d256)
    tool(d, "pcrextend", "16:sha256=%s" % d256)
    tool(d, "shutdown")  # SU_STATE
    clock = out(d, "readclock")
    expect("restart_count: 0" in clock, "before: %s" % clock)
    expect_eq(d.stop(), 0, "exit code")
    d2 = start(["--flags", "startup-state"], state=d.state)
    clock = out(d2, "readclock")
    expect("restart_count: 1" in clock, "TPM Resume counted: %s" % clock)
    pcrs = parse_pcrs(out(d2, "pcrread", "sha256:8,16"))
    expect_eq(pcrs["sha256"][8], hashlib.sha256(bytes(32) + bytes.fromhex(d256)).digest(),
              "PCR 8 resumed from the saved state")
    expect_eq(pcrs["sha256"][16], bytes(32), "PCR 16 reset at resume")


def test_unix_path():
    """`-T swtpm:path=S`: data on S, control on S.ctrl."""
    d = start(["--flags", "startup-clear"], kind="unixboth")
    tcti = "swtpm:path=" + d.data_path
    rnd = out(d, "getrandom", "--hex", "16", tcti=tcti).strip()
    expect(re.fullmatch(r"[0-9a-f]{32}", rnd) is not None, "getrandom over unix sockets")
    pcrs = parse_pcrs(out(d, "pcrread", "sha256:0,17", tcti=tcti))
    expect_eq(pcrs["sha256"][0], bytes(32), "PCR 0")
    expect_eq(pcrs["sha256"][17], b"\xff" * 32, "PCR 17")
    res = out(d, "gettestresult", tcti=tcti)
    expect("success" in res, "gettestresult over unix sockets")


def test_without_init_flag():
    """Without --flags not-need-init the TCTI's commands get TPM_RC_FAILURE, as swtpm."""
    d = Daemon(VTPMD, "tcp")
    p = tool(d, "startup", "-c", check=False)
    expect(p.returncode != 0, "startup refused before CMD_INIT")
    expect(b"0x101" in p.stderr, "TPM_RC_FAILURE reported: %s" % p.stderr)


TESTS = {
    "startup_selftest": test_startup_selftest,
    "getrandom": test_getrandom,
    "pcrread_extend": test_pcrread_extend,
    "hash": test_hash,
    "getcap": test_getcap,
    "testparms": test_testparms,
    "readclock": test_readclock,
    "state_survives_restart": test_state_survives_restart,
    "startup_state": test_startup_state,
    "unix_path": test_unix_path,
    "without_init_flag": test_without_init_flag,
}

if __name__ == "__main__":
    VTPMD = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(TESTS)
    signal.alarm(900)
    sys.exit(Runner().run(TESTS, names))
