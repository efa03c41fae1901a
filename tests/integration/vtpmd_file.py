#!/usr/bin/env python3
"""vtpmd on the vTPM file (src/store): keys, refusals, crashes, fault points, a full disk,
power cycles and state blobs, through the real daemon.

Usage: vtpmd_file.py VTPMD VTPMD_FAULT [TEST ...]

VTPMD_FAULT is vtpmd built with the store's fault points driven by VTPMD_FAULT=point:n:action
(tests/tools/vtpmd_fault.c). Every test checks the file itself too: what is refused is never
written, what was acknowledged is never lost.
"""

import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vtpmd_harness import (Daemon, Runner, cmd, ctrl_exchange, expect, expect_eq,  # noqa: E402
                           harness_track, pw_session, rc_of, recv_exact, recv_tpm, tmpdir,
                           tpm_cmd)
from vtpmd_proto import (STARTUP_CLEAR, da_parameters, data_call, get_property,  # noqa: E402
                         property_value)

VTPMD = None
VTPMD_FAULT = None
OK = b"\0\0\0\0"
NV_UNAVAILABLE = bytes.fromhex("80010000000a00000923")
PT_MAX_AUTH_FAIL = 0x20F
STARTED = ["--flags", "not-need-init,startup-clear"]


def key_file(d, name="key", data=None, mode=0o600):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(os.urandom(32) if data is None else data)
    os.chmod(path, mode)
    return path


def run(args, timeout=30, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("TPM_PATH", "TPM_PORT")}
    return subprocess.run([VTPMD] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, env=env, **kw)


def max_tries(s):
    return property_value(data_call(s, get_property(PT_MAX_AUTH_FAIL)), PT_MAX_AUTH_FAIL)


def refused(state, args, want, d):
    """Start vtpmd on state with args: it must exit 1 with one line naming want, and leave
    every file in state byte for byte as it was."""
    before = {n: open(os.path.join(state, n), "rb").read() for n in os.listdir(state)
              if os.path.isfile(os.path.join(state, n))}
    p = run(["socket", "--tpm2", "--tpmstate", "dir=" + state, "--ctrl",
             "type=unixio,path=%s/refused.sock" % d] + args)
    err = p.stderr.decode(errors="replace")
    expect_eq(p.returncode, 1, "exit code when refusing (%s)" % want)
    expect_eq(err.count("\n"), 1, "one line: %r" % err)
    expect(want in err, "reason '%s' in %r" % (want, err))
    expect("untouched" in err, "says the file was left untouched: %r" % err)
    after = {n: open(os.path.join(state, n), "rb").read() for n in os.listdir(state)
             if os.path.isfile(os.path.join(state, n))}
    expect_eq(sorted(after), sorted(before), "no file added or removed (%s)" % want)
    for n in before:
        expect(after[n] == before[n], "%s untouched (%s)" % (n, want))
    return err


# ---- keys and VM ids ----------------------------------------------------------------------

def test_keys():
    """Every key form; the file opens only with its key and VM id; the key is never on the
    command line, in the log, or in the process's memory once the file is open."""
    d = tmpdir()
    st = os.path.join(d, "st")
    os.mkdir(st)
    raw = os.urandom(32)
    # vtpmctl's way: --key fd=3 (32 raw bytes, then end of file), --vmid, --daemon.
    r, w = os.pipe()
    os.write(w, raw)
    os.close(w)
    if r != 3:
        os.dup2(r, 3)
        os.close(r)
    pid_file = os.path.join(d, "pid")
    sock = os.path.join(d, "ctrl.sock")
    log = os.path.join(d, "log")
    args = ["socket", "--tpm2", "--tpmstate", "dir=%s,mode=0640" % st, "--ctrl",
            "type=unixio,path=%s,mode=0600" % sock, "--pid", "file=" + pid_file, "--log",
            "file=%s,level=3" % log, "--key", "fd=3,mode=aes-256-gcm", "--vmid", "vm-1234",
            "--daemon", "--terminate"]
    p = run(args, pass_fds=(3,))
    os.close(3)
    expect_eq(p.returncode, 0, "--daemon start: %s" % p.stderr)
    # The parent exits 0 only once the state opened; pid file and socket are there.
    expect(os.path.exists(pid_file) and os.path.exists(sock), "pid file and socket exist")
    pid = int(open(pid_file).read())
    harness_pid(pid)
    permall = os.path.join(st, "tpm2-00.permall")
    expect_eq(os.stat(permall).st_mode & 0o777, 0o600, "file mode 0600 (whatever mode= says)")
    cmdline = open("/proc/%d/cmdline" % pid, "rb").read()
    expect(raw not in cmdline and raw.hex().encode() not in cmdline, "key not on the cmdline")
    # The raw key is gone from the process's memory (only keys derived from it remain); the
    # search itself works (it finds the VM id, which vtpmd keeps).
    expect(memory_holds(pid, b"vm-1234"), "the memory search finds what is there")
    expect(not memory_holds(pid, raw), "the raw key is wiped from vtpmd's memory")
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(5)
    c.connect(sock)
    expect_eq(ctrl_exchange(c, cmd(0x0F), 8), bytes.fromhex("0000000000000001"),
              "GET_CONFIG: a state-file key is in use")
    expect_eq(ctrl_exchange(c, cmd(0x03), 4), OK, "SHUTDOWN")
    wait_gone(pid)
    text = open(log, errors="replace").read()
    expect(raw.hex() not in text and "not encrypted" not in text, "log holds no key, no warning")
    image = open(permall, "rb").read()
    expect(raw not in image, "the key is not in the file")

    # The same key as a 0600 hex file, as a 0400 binary file: the file opens.
    hexf = key_file(d, "hex", raw.hex().encode() + b"\n")
    binf = key_file(d, "bin", raw, 0o400)
    for spec in ("file=" + hexf, "file=%s,format=hex" % hexf, "file=%s,format=binary" % binf):
        dm = Daemon(VTPMD, "unix", ["--key", spec, "--vmid", "vm-1234"], state=st)
        dm.stop()
    # Refusals, each with its own reason; the file is never touched.
    other = key_file(d, "other")
    refused(st, ["--key", "file=" + other, "--vmid", "vm-1234"], "different data key", d)
    refused(st, ["--key", "file=" + hexf, "--vmid", "vm-9999"], "made for another VM", d)
    refused(st, ["--key", "file=" + hexf], "made for another VM", d)
    refused(st, ["--vmid", "vm-1234"], "(no --key was given)", d)
    os.chmod(hexf, 0o644)
    p = run(["socket", "--tpm2", "--tpmstate", "dir=" + st, "--ctrl",
             "type=unixio,path=%s/x.sock" % d, "--key", "file=" + hexf, "--vmid", "vm-1234"])
    expect(p.returncode == 1 and b"must be 0600 or 0400" in p.stderr, "0644 key file refused")
    # --daemon: a refused file makes the launching process exit non-zero with the reason.
    r, w = os.pipe()
    os.write(w, os.urandom(32))
    os.close(w)
    os.dup2(r, 3)
    os.close(r)
    p = run([a if a != "dir=%s,mode=0640" % st else "dir=" + st for a in args], pass_fds=(3,))
    os.close(3)
    expect_eq(p.returncode, 1, "--daemon with a wrong key")
    expect(b"different data key" in p.stderr and p.stderr.count(b"\n") == 1,
           "one line on stderr: %s" % p.stderr)
    expect(not os.path.exists(pid_file), "no pid file left by a failed start")

    # Passphrases: the same passphrase opens, another does not.
    st2 = os.path.join(d, "st2")
    os.mkdir(st2)
    pw = key_file(d, "pw", b"correct horse battery staple\n")
    dm = Daemon(VTPMD, "unix", ["--key", "pwdfile=" + pw + ",kdf=pbkdf2", "--vmid", "v"],
                state=st2)
    dm.stop()
    dm = Daemon(VTPMD, "unix", ["--key", "pwdfile=" + pw, "--vmid", "v"], state=st2)
    dm.stop()
    refused(st2, ["--key", "pwdfile=%s,kdf=sha512" % pw, "--vmid", "v"], "different data key",
            d)
    # Without --key: works (swtpm's command lines), says so in the log and --print-states.
    st3 = os.path.join(d, "st3")
    os.mkdir(st3)
    dm = Daemon(VTPMD, "unix", [], state=st3)
    dm.stop()
    expect("state file not encrypted: no --key given" in dm.log_text(), "warning logged")


_pids = []


def harness_pid(pid):
    _pids.append(pid)


def wait_gone(pid, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError("process %d did not exit" % pid)


def memory_holds(pid, needle):
    """Whether any readable mapping of pid holds needle (root only). Read in pieces that
    overlap by len(needle); mappings over 1 GiB (a sanitizer's shadow) are skipped."""
    step = 1 << 24
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            if "r" not in parts[1]:
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if hi - lo > (1 << 30):
                continue
            pos = lo
            while pos < hi:
                n = min(step + len(needle), hi - pos)
                try:
                    mem.seek(pos)
                    chunk = mem.read(n)
                except (OSError, ValueError, OverflowError):
                    break
                if needle in chunk:
                    return True
                pos += step
    return False


# ---- a file that must not open ------------------------------------------------------------

def made_file(d, commits=6):
    """A vTPM file with both permanent slots used (a few commits) and a volatile state."""
    st = os.path.join(d, "st")
    os.mkdir(st)
    k = key_file(d)
    dm = Daemon(VTPMD, "unix", ["--key", "file=" + k, "--vmid", "vm-a"], state=st)
    c = dm.ctrl()
    expect_eq(ctrl_exchange(c, cmd(0x02, bytes(4)), 4), OK, "INIT")
    a, b = socket.socketpair()
    expect_eq(ctrl_exchange(c, cmd(0x10), 4, [b.fileno()]), OK, "SET_DATAFD")
    b.close()
    a.settimeout(5)
    expect_eq(rc_of(data_call(a, STARTUP_CLEAR)), 0, "Startup")
    for i in range(commits):
        expect_eq(rc_of(data_call(a, da_parameters(10 + i, 5, 5))), 0, "DA parameters")
    expect_eq(ctrl_exchange(c, cmd(0x0A), 4), OK, "STORE_VOLATILE")
    expect_eq(ctrl_exchange(c, cmd(0x03), 4), OK, "SHUTDOWN")
    dm.proc.wait(timeout=5)
    return st, k


def test_tamper():
    """Each region of the file changed, truncated, copied to another VM, opened with another
    key: refused with its own message, never overwritten. One damaged slot of a pair is
    survivable (the other generation is used, and the log says so)."""
    d = tmpdir()
    st, k = made_file(d)
    path = os.path.join(st, "tpm2-00.permall")
    good = open(path, "rb").read()
    P = struct.unpack(">I", good[64:68])[0]
    V = struct.unpack(">I", good[68:72])[0]
    expect_eq(len(good), 4096 + 2 * P + 2 * V, "layout of docs/STATE-FORMAT.md")
    ok_args = ["--key", "file=" + k, "--vmid", "vm-a"]

    def put(data):
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o600)

    def flipped(off):
        b = bytearray(good)
        b[off] ^= 0x01
        return bytes(b)

    header = [
        (0, "not a vTPM file"), (8, "version"), (10, "corrupt"), (12, "corrupt"),
        (16, "corrupt"), (32, "key id"), (48, "corrupt"), (64, "corrupt"), (68, "corrupt"),
        (80, "corrupt"), (100, "corrupt"), (300, "corrupt"), (4095, "corrupt"),
    ]
    for off, want in header:
        put(flipped(off))
        refused(st, ok_args, want, d)
    # Both slots of the permanent pair damaged: refused.
    b = bytearray(good)
    b[4096 + 60] ^= 1
    b[4096 + P + 60] ^= 1
    put(bytes(b))
    refused(st, ok_args, "corrupt", d)
    # Truncated at several lengths, one byte too many.
    for n in (0, 4, 64, 127, 4095, 4096, 4096 + P, len(good) - 1):
        put(good[:n])
        refused(st, ok_args, "truncated", d)
    put(good + b"\0")
    refused(st, ok_args, "corrupt", d)
    # Copied to another VM; opened with another key; swtpm's own format.
    put(good)
    refused(st, ["--key", "file=" + k, "--vmid", "vm-b"], "made for another VM", d)
    refused(st, ["--key", "file=" + key_file(d, "k2"), "--vmid", "vm-a"],
            "different data key", d)
    put(bytes.fromhex("0201000a0000000017d20001000017c2") + bytes(100))
    refused(st, ok_args, "not a vTPM file", d)
    # One slot damaged (each part of each record of each pair): the file opens from the
    # other slot and the log names the slot and why.
    regions = [4096 + 1, 4096 + 20, 4096 + 50, 4096 + P - 1,          # perm A
               4096 + P + 5, 4096 + P + 100, 4096 + 2 * P - 2,         # perm B
               4096 + 2 * P + 8, 4096 + 2 * P + V + 70]                # volatile A, B
    for off in regions:
        put(flipped(off))
        dm = Daemon(VTPMD, "unix", ok_args, state=st)
        dm.stop()
        log = dm.log_text()
        expect("did not verify" in log, "damage at %d logged: %s" % (off, log))
    # The untouched file still opens, silently.
    put(good)
    dm = Daemon(VTPMD, "unix", ok_args, state=st)
    dm.stop()
    expect("did not verify" not in dm.log_text(), "no note for a good file")


# ---- crashes ------------------------------------------------------------------------------

class BadAnswer(Exception):
    pass


def test_crash_loop():
    """A client streams state-changing commands (DictionaryAttackParameters with an
    increasing maxTries) while vtpmd is killed with SIGKILL at random moments, 500 times.
    After every restart the file opens and holds every acknowledged change: maxTries is the
    last acknowledged value or the one in flight, never older, never anything else."""
    rounds = int(os.environ.get("VTPMD_CRASH_ROUNDS", "500"))
    d = tmpdir()
    st = os.path.join(d, "st")
    os.mkdir(st)
    k = key_file(d)
    data_path = os.path.join(d, "data")
    args = [VTPMD, "socket", "--tpm2", "--tpmstate", "dir=" + st, "--server",
            "type=unixio,path=" + data_path, "--ctrl", "type=unixio,path=%s/ctrl" % d,
            "--key", "file=" + k, "--vmid", "crash-vm", "--flags",
            "not-need-init,startup-clear", "--log", "file=%s/log,level=1" % d]
    rng = random.Random(int(os.environ.get("VTPMD_CRASH_SEED", "4")))
    acked = inflight = None
    commits = in_flight_kills = in_flight_new = 0
    for i in range(rounds + 1):
        proc = harness_track(subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE))
        s = connect_when_ready(data_path, proc)
        got = max_tries(s)
        if acked is not None:
            expect(got in (acked, inflight),
                   "round %d: maxTries %d after a restart; acknowledged %d, in flight %d" %
                   (i, got, acked, inflight))
            if got != acked:
                in_flight_new += 1
        if i == rounds:
            proc.kill()
            proc.wait()
            break
        state = {"acked": got, "sent": got}

        def stream():
            v = state["acked"]
            try:
                while True:
                    v += 1
                    state["sent"] = v
                    s.sendall(da_parameters(v, 5, 5))
                    rsp = recv_tpm(s)
                    if rc_of(rsp) != 0:
                        raise BadAnswer("DA parameters(%d) answered %s" % (v, rsp.hex()))
                    state["acked"] = v
            except BadAnswer as e:
                state["error"] = e
            except (OSError, AssertionError):
                pass  # the connection went with the process

        t = threading.Thread(target=stream)
        t.start()
        time.sleep(rng.uniform(0.0, 0.02))
        proc.kill()
        proc.wait()
        t.join(timeout=10)
        s.close()
        if "error" in state:
            raise state["error"]
        commits += state["acked"] - got
        acked, inflight = state["acked"], state["sent"]
        if inflight != acked:
            in_flight_kills += 1
    log = open(os.path.join(d, "log"), errors="replace").read()
    fallbacks = log.count("did not verify")
    expect(commits > rounds, "commands were acknowledged between kills (%d)" % commits)
    print("crash loop: %d SIGKILLs, %d acknowledged commits, %d kills with a command in "
          "flight (%d of those found committed after the restart), %d opens used the older "
          "slot" % (rounds, commits, in_flight_kills, in_flight_new, fallbacks))


def connect_when_ready(path, proc, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise AssertionError("vtpmd exited with %d: %s" % (
                proc.returncode, proc.stderr.read().decode(errors="replace")))
        try:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect(path)
            return s
        except OSError:
            s.close()
            time.sleep(0.002)
    raise AssertionError("vtpmd did not listen")


# ---- fault points -------------------------------------------------------------------------

def fault_daemon(st, k, spec, extra=()):
    d = Daemon(VTPMD_FAULT, "unix", ["--key", "file=" + k, "--vmid", "vm-f"] + list(extra),
               state=st, start=False)
    d.proc = harness_track(subprocess.Popen(d.args, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE,
                                            env=dict(os.environ, VTPMD_FAULT=spec)))
    d.wait_ready()
    return d


def qemu_like(d):
    """INIT + SET_DATAFD + Startup on a daemon: (ctrl, data)."""
    c = d.ctrl()
    a, b = socket.socketpair()
    expect_eq(ctrl_exchange(c, cmd(0x10), 4, [b.fileno()]), OK, "SET_DATAFD")
    b.close()
    a.settimeout(5)
    expect_eq(ctrl_exchange(c, cmd(0x02, bytes(4)), 4), OK, "INIT")
    rc = rc_of(data_call(a, STARTUP_CLEAR))
    expect(rc in (0, 0x100), "Startup: 0x%x" % rc)
    return c, a


def current_tries(st, k):
    d = Daemon(VTPMD, "unix", ["--key", "file=" + k, "--vmid", "vm-f"], state=st)
    c, a = qemu_like(d)
    v = max_tries(a)
    expect_eq(ctrl_exchange(c, cmd(0x03), 4), OK, "SHUTDOWN")
    d.proc.wait(timeout=5)
    return v


def test_fault_points():
    """Each named point of an in-place commit failed in turn (an I/O error, then a crash
    there): the command answers 0x923 (or never), a restart finds the old state, or the new
    one where the commit had become durable. Whole-file writes (the first STORE_VOLATILE adds
    the volatile slots) likewise: the control command answers TPM_FAIL, the file is whole."""
    d = tmpdir()
    st = os.path.join(d, "st")
    os.mkdir(st)
    k = key_file(d)
    old = current_tries(st, k)
    n = 0
    # An error at each point of an in-place commit: 0x923 and the old state, except after
    # the commit became durable (commit-done: the error is not one).
    for point, durable in (("seal", False), ("write", False), ("write-torn", False),
                           ("sync", False), ("commit-done", True)):
        n += 1
        dm = fault_daemon(st, k, "%s:2:eio" % point)
        c, a = qemu_like(dm)
        rsp = data_call(a, da_parameters(old + n, 5, 5))
        if durable:
            expect_eq(rc_of(rsp), 0, "%s: the commit was durable: success" % point)
        else:
            expect_eq(rsp, NV_UNAVAILABLE, "%s: TPM_RC_NV_UNAVAILABLE" % point)
            expect_eq(max_tries(a), old, "%s: the change was undone in the running TPM" % point)
            expect("the change is undone" in dm.log_text(), "%s: logged" % point)
        dm.stop()
        got = current_tries(st, k)
        expect_eq(got, old + n if durable else old, "%s: state after a restart" % point)
        old = got
    # A crash at each point: no answer; a restart finds the old or the new state.
    for point, want in (("seal", "old"), ("write", "old"), ("write-torn", "old"),
                        ("sync", "either"), ("commit-done", "new")):
        n += 1
        dm = fault_daemon(st, k, "%s:2:crash" % point, ["--seccomp", "action=none"])
        c, a = qemu_like(dm)
        a.sendall(da_parameters(old + n, 5, 5))
        a.settimeout(5)
        expect_eq(a.recv(100), b"", "%s: no answer from a crashed vtpmd" % point)
        dm.proc.wait(timeout=5)
        expect_eq(dm.proc.returncode, -signal.SIGKILL, "%s: killed at the point" % point)
        got = current_tries(st, k)
        allowed = {"old": (old,), "new": (old + n,), "either": (old, old + n)}[want]
        expect(got in allowed, "%s crash: maxTries %d, expected %s" % (point, got, allowed))
        old = got
    # Whole-file writes: the first STORE_VOLATILE.
    for point in ("tmp-create", "tmp-write", "tmp-torn", "tmp-sync", "rename"):
        dm = fault_daemon(st, k, "%s:1:eio" % point)
        c, a = qemu_like(dm)
        before = open(os.path.join(st, "tpm2-00.permall"), "rb").read()
        expect_eq(ctrl_exchange(c, cmd(0x0A), 4), bytes.fromhex("00000009"),
                  "%s: STORE_VOLATILE answers TPM_FAIL" % point)
        dm.stop()
        expect(open(os.path.join(st, "tpm2-00.permall"), "rb").read() == before,
               "%s: the file is the old one, byte for byte" % point)
        expect_eq(sorted(os.listdir(st)), [".lock", "tpm2-00.permall"],
                  "%s: no temporary file left" % point)
        expect_eq(current_tries(st, k), old, "%s: opens to the old state" % point)
    # (dir-sync last: after it the file has its volatile slots and writes in place.)
    for point in ("tmp-write", "tmp-torn", "tmp-sync", "rename", "dir-sync"):
        dm = fault_daemon(st, k, "%s:1:crash" % point, ["--seccomp", "action=none"])
        c, a = qemu_like(dm)
        c.sendall(cmd(0x0A))
        c.settimeout(5)
        expect_eq(c.recv(100), b"", "%s: no answer" % point)
        dm.proc.wait(timeout=5)
        expect_eq(current_tries(st, k), old, "%s crash: the file opens" % point)
        leftovers = [n for n in os.listdir(st) if ".tmp-" in n]
        expect_eq(leftovers, [], "%s: a temporary file is removed by the next open" % point)


def test_disk_full():
    """vtpmd on a tiny tmpfs: commits in place work on a full disk; what needs room (the
    volatile slots, a state that outgrows its slot) fails with its error; the earlier state
    survives a restart."""
    if os.geteuid() != 0:
        print("SKIP: mounting a tmpfs needs root")
        sys.exit(77)
    d = tmpdir()
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k,mode=0700", "tmpfs", mnt],
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        print("SKIP: cannot mount a tmpfs: %s" % p.stderr.decode())
        sys.exit(77)
    try:
        disk_full_in(d, mnt)
    finally:
        _cleanup_daemons()  # the daemons go first; the folder cannot go while mounted
        subprocess.run(["umount", "-l", mnt])
        shutil.rmtree(d, ignore_errors=True)


def _cleanup_daemons():
    from vtpmd_harness import _cleanup
    _cleanup()


def disk_full_in(d, mnt):
    st = os.path.join(mnt, "st")
    os.mkdir(st)
    k = key_file(d)
    # No room at all: a new vTPM cannot even be created.
    filler = os.path.join(mnt, "filler")
    fill(filler)
    p = run(["socket", "--tpm2", "--tpmstate", "dir=" + st, "--ctrl",
             "type=unixio,path=%s/c.sock" % d, "--key", "file=" + k])
    expect_eq(p.returncode, 1, "no room for a new vTPM file")
    expect(b"No space left on device" in p.stderr, "says why: %s" % p.stderr)
    expect_eq([n for n in os.listdir(st) if n != ".lock"], [], "nothing left behind")
    os.unlink(filler)
    dm = Daemon(VTPMD, "unix", ["--key", "file=" + k], state=st)
    c, a = qemu_like(dm)
    expect_eq(rc_of(data_call(a, da_parameters(21, 5, 5))), 0, "a commit with room")
    # Now the disk is full.
    fill(filler)
    # In place: no new space needed, the commit works on a full disk.
    expect_eq(rc_of(data_call(a, da_parameters(22, 5, 5))), 0, "in-place commit, disk full")
    # The volatile slots need a whole new file: TPM_FAIL, the file intact.
    before = open(os.path.join(st, "tpm2-00.permall"), "rb").read()
    expect_eq(ctrl_exchange(c, cmd(0x0A), 4), bytes.fromhex("00000009"), "STORE_VOLATILE")
    expect_eq(open(os.path.join(st, "tpm2-00.permall"), "rb").read(), before, "file intact")
    expect("No space left on device" in dm.log_text(), "the reason is logged")
    # A state that outgrows its slot: NV indices until a commit needs a bigger file.
    owner = 0x40000001
    rc = 0
    index = 0x01400000
    nv_failed = False
    for _ in range(40):
        rc = rc_of(data_call(a, nv_define(owner, index, 2048)))
        if rc == 0x923:
            nv_failed = True
            break
        expect_eq(rc, 0, "NV_DefineSpace")
        for off in range(0, 2048, 1024):
            rc = rc_of(data_call(a, nv_write(index, bytes([index & 0xff]) * 1024, off)))
            if rc == 0x923:
                nv_failed = True
                break
            expect_eq(rc, 0, "NV_Write")
        if nv_failed:
            break
        index += 1
    expect(nv_failed, "a growing state hits the full disk with TPM_RC_NV_UNAVAILABLE")
    expect_eq(max_tries(a), 22, "the TPM goes on")
    dm.stop()
    os.unlink(filler)
    expect_eq(current_tries_dir(st, k), 22, "the earlier state survives a restart")


def fill(path):
    """Write to path until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 1024)
    except OSError:
        pass
    finally:
        os.close(fd)


def current_tries_dir(st, k):
    d = Daemon(VTPMD, "unix", ["--key", "file=" + k], state=st)
    c, a = qemu_like(d)
    v = max_tries(a)
    d.stop()
    return v


def nv_define(owner, index, size):
    pub = struct.pack(">IHI", index, 0x000B, 0x00060006) + struct.pack(">H", 0) + \
        struct.pack(">H", size)
    return tpm_cmd(0x12A, struct.pack(">I", owner) + pw_session() + struct.pack(">H", 0) +
                   struct.pack(">H", len(pub)) + pub, tag=0x8002)


def nv_write(index, data, off):
    return tpm_cmd(0x137, struct.pack(">II", index, index) + pw_session() +
                   struct.pack(">H", len(data)) + data + struct.pack(">H", off), tag=0x8002)


# ---- power cycles -------------------------------------------------------------------------

def tool(port, *args, check=True):
    p = subprocess.run(["tpm2_" + args[0], "-T", "swtpm:host=127.0.0.1,port=%d" % port] +
                       list(args[1:]), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("tpm2_%s failed (%d): %s" % (args[0], p.returncode,
                                                          p.stderr.decode(errors="replace")))
    return p


def test_power_cycle():
    """TPM2_Shutdown(STATE), the process gone (a power cycle), TPM2_Startup(STATE): PCRs,
    saved session and object contexts resume, as Part 1 §12 "TPM Resume" says; after a TPM
    Reset (Startup(CLEAR)) the PCRs are reset and the saved session is gone."""
    d = tmpdir()
    st = os.path.join(d, "st")
    os.mkdir(st)
    k = key_file(d)
    common = ["--key", "file=" + k, "--vmid", "pc"]
    dm = Daemon(VTPMD, "tcp", ["--flags", "not-need-init,startup-clear"] + common, state=st)
    tool(dm.port, "pcrextend", "8:sha256=" + "ab" * 32)
    before = tool(dm.port, "pcrread", "sha256:8").stdout
    tool(dm.port, "createprimary", "-C", "o", "-G", "ecc", "-c", os.path.join(d, "prim.ctx"))
    tool(dm.port, "startauthsession", "-S", os.path.join(d, "sess.ctx"))
    tool(dm.port, "shutdown")  # SU_STATE
    dm.proc.kill()  # the power goes
    dm.proc.wait()
    dm = Daemon(VTPMD, "tcp", ["--flags", "not-need-init"] + common, state=st)
    tool(dm.port, "startup")  # SU_STATE: TPM Resume
    expect_eq(tool(dm.port, "pcrread", "sha256:8").stdout, before, "PCR 8 resumed")
    tool(dm.port, "readpublic", "-c", os.path.join(d, "prim.ctx"))
    tool(dm.port, "flushcontext", os.path.join(d, "sess.ctx"))
    tool(dm.port, "shutdown", "-c")
    dm.stop()
    dm = Daemon(VTPMD, "tcp", ["--flags", "not-need-init,startup-clear"] + common, state=st)
    after = tool(dm.port, "pcrread", "sha256:8").stdout
    expect(after != before and b"0x0000000000" in after, "PCR 8 reset by a TPM Reset")
    dm.stop()


# ---- state blobs through QEMU's migration -------------------------------------------------

class Qmp:
    def __init__(self, path, proc, timeout=30):
        end = time.time() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError("QEMU exited with %d" % proc.returncode)
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.time() > end:
                    raise AssertionError("QEMU's QMP socket did not appear")
                time.sleep(0.05)
        self.s.settimeout(60)
        self.f = self.s.makefile("rwb")
        self.read()  # greeting
        self.call("qmp_capabilities")

    def read(self):
        import json
        while True:
            line = self.f.readline()
            if not line:
                raise AssertionError("QMP connection closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def call(self, name, **args):
        import json
        self.f.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        self.f.flush()
        rsp = self.read()
        if "error" in rsp:
            raise AssertionError("QMP %s: %s" % (name, rsp["error"]))
        return rsp.get("return")


def qemu_paused(d, name, ctrl_sock, incoming=None):
    qemu = shutil.which("qemu-system-x86_64")
    qmp = os.path.join(d, name + ".qmp")
    args = [qemu, "-machine", "q35,accel=tcg", "-m", "64", "-nodefaults", "-display", "none",
            "-S", "-qmp", "unix:%s,server=on,wait=off" % qmp,
            "-chardev", "socket,id=chrtpm,path=" + ctrl_sock,
            "-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-crb,tpmdev=tpm0"]
    if incoming:
        args += ["-incoming", "unix:" + incoming]
    proc = harness_track(subprocess.Popen(["timeout", "--kill-after=5", "120"] + args,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    return proc, Qmp(qmp, proc)


def test_migrate_paused_qemu():
    """QEMU's real migration between two vtpmd instances, of a VM paused before its first
    instruction (-S): QEMU A takes the state blobs from vtpmd A (GET_STATEBLOB, sealed under
    the migration key), QEMU B (-incoming) hands them to vtpmd B (STOP, SET_STATEBLOB,
    INIT(DELETE_VOLATILE)). Afterwards vtpmd B's own file holds A's owner authorization and
    NV index, checked with tpm2-tools. (The running-guest version is tests/guest/migrate.sh.)"""
    if not shutil.which("qemu-system-x86_64"):
        print("qemu-system-x86_64 not installed: skipped")
        return
    d = tmpdir()
    sta, stb = os.path.join(d, "a"), os.path.join(d, "b")
    os.mkdir(sta)
    os.mkdir(stb)
    ka, kb, mk = key_file(d, "ka"), key_file(d, "kb"), key_file(d, "mk")
    vm = ["--vmid", "migrating-vm"]
    # A's TPM gets an owner authorization and an NV index first.
    dm = Daemon(VTPMD, "tcp", ["--flags", "not-need-init,startup-clear", "--key", "file=" + ka]
                + vm, state=sta)
    tool(dm.port, "changeauth", "-c", "owner", "ownerpass")
    tool(dm.port, "nvdefine", "0x1500016", "-C", "o", "-P", "ownerpass", "-s", "13", "-a",
         "ownerread|ownerwrite")
    data = os.path.join(d, "nv.in")
    with open(data, "wb") as f:
        f.write(b"from vtpmd A!")
    tool(dm.port, "nvwrite", "0x1500016", "-C", "o", "-P", "ownerpass", "-i", data)
    dm.stop()
    a = Daemon(VTPMD, "unix", ["--key", "file=" + ka, "--migration-key", "file=" + mk,
                               "--terminate"] + vm, state=sta)
    b = Daemon(VTPMD, "unix", ["--key", "file=" + kb, "--migration-key", "file=" + mk,
                               "--terminate"] + vm, state=stb)
    mig = os.path.join(d, "mig.sock")
    qa, qmpa = qemu_paused(d, "a", a.ctrl_path)
    qb, qmpb = qemu_paused(d, "b", b.ctrl_path, incoming=mig)
    qmpa.call("migrate", uri="unix:" + mig)
    end = time.time() + 60
    status = None
    while time.time() < end:
        status = qmpa.call("query-migrate").get("status")
        if status in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.1)
    expect_eq(status, "completed", "migration status")
    # B must have loaded the blobs: wait until it left the incoming state.
    while time.time() < end and qmpb.call("query-status")["status"] == "inmigrate":
        time.sleep(0.1)
    qmpa.call("quit")
    qmpb.call("quit")
    qa.wait(timeout=30)
    qb.wait(timeout=30)
    a.proc.wait(timeout=10)
    b.proc.wait(timeout=10)
    la, lb = a.log_text(), b.log_text()
    expect("ctrl: GET_STATEBLOB -> 0x0" in la, "A handed out the state blobs: %s" % la)
    expect("ctrl: SET_STATEBLOB -> 0x0" in lb and "SET_STATEBLOB: permanent state replaced" in lb,
           "B took them: %s" % lb)
    # The blobs were sealed: the migration stream never carried plain state (the log says
    # which sealing: flags 0 and the blob's header are checked in the unit tests).
    dm = Daemon(VTPMD, "tcp", ["--flags", "not-need-init,startup-clear", "--key", "file=" + kb]
                + vm, state=stb)
    out = tool(dm.port, "nvread", "0x1500016", "-C", "o", "-P", "ownerpass").stdout
    expect_eq(out, b"from vtpmd A!", "NV content migrated")
    tool(dm.port, "changeauth", "-c", "owner", "-p", "ownerpass", "newpass")
    p = tool(dm.port, "nvread", "0x1500016", "-C", "o", "-P", "ownerpass", check=False)
    expect(p.returncode != 0, "the old owner password no longer works")
    dm.stop()
    # vtpmd B without the migration key cannot take A's blobs.
    stc = os.path.join(d, "c")
    os.mkdir(stc)
    da = Daemon(VTPMD, "unix", ["--key", "file=" + ka, "--migration-key", "file=" + mk] + vm,
                state=sta)
    dc = Daemon(VTPMD, "unix", ["--key", "file=" + kb] + vm, state=stc)
    ca, cc = da.ctrl(), dc.ctrl()
    expect_eq(ctrl_exchange(ca, cmd(0x02, bytes(4)), 4), OK, "INIT A")
    rsp = ctrl_exchange(ca, cmd(0x0C, struct.pack(">III", 1, 1, 0)), 16)
    res, flags, tot, length = struct.unpack(">IIII", rsp)
    expect_eq((res, flags), (0, 0), "GET_STATEBLOB(permanent, DECRYPTED)")
    blob = recv_exact(ca, length)
    expect_eq(blob[:8], b"VTPMBLOB", "vtpmd's blob")
    expect_eq(blob[12:14], b"\0\1", "sealed under the migration key")
    expect_eq(ctrl_exchange(cc, cmd(0x0E), 4), OK, "STOP C")
    expect_eq(ctrl_exchange(cc, cmd(0x0D, struct.pack(">III", 0, 1, len(blob)) + blob), 4),
              bytes.fromhex("00000003"), "SET_STATEBLOB without the migration key: refused")
    expect("this vtpmd has none" in dc.log_text(), "and why")


TESTS = {
    "keys": test_keys,
    "tamper": test_tamper,
    "crash_loop": test_crash_loop,
    "fault_points": test_fault_points,
    "disk_full": test_disk_full,
    "power_cycle": test_power_cycle,
    "migrate_paused_qemu": test_migrate_paused_qemu,
}

if __name__ == "__main__":
    VTPMD = os.path.abspath(sys.argv[1])
    VTPMD_FAULT = os.path.abspath(sys.argv[2])
    names = sys.argv[3:] or list(TESTS)
    signal.alarm(1200)
    try:
        sys.exit(Runner().run(TESTS, names))
    finally:
        for pid in _pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
