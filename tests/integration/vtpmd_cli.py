#!/usr/bin/env python3
"""vtpmd's command line and process behaviour, as libvirt and swtpm_setup use them.

Usage: vtpmd_cli.py VTPMD [TEST ...]
"""

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vtpmd_harness import (Daemon, Runner, cmd, ctrl_exchange, expect, expect_eq,  # noqa: E402
                           rc_of, recv_tpm, tmpdir, tpm_cmd)

VTPMD = None
OK = b"\0\0\0\0"


def run(args, env=None, timeout=30, **kw):
    return subprocess.run([VTPMD] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, env=env, **kw)


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def alive(pid):
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        return not proc_status(pid)["State"].startswith("Z")
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_print_capabilities():
    for args in (["socket", "--print-capabilities"], ["socket", "--tpm2", "--print-capabilities"]):
        p = run(args)
        expect_eq(p.returncode, 0, "exit code of %s" % args)
        expect(p.stdout.endswith(b" }\n"), "one JSON line: %r" % p.stdout)
        caps = json.loads(p.stdout)
        expect_eq(caps["type"], "swtpm", "type (libvirt and swtpm_setup parse this shape)")
        feats = set(caps["features"])
        for f in ("tpm-2.0", "tpm-send-command-header", "flags-opt-startup", "cmdarg-seccomp",
                  "cmdarg-print-states", "nvram-backend-dir", "cmdarg-key-fd", "cmdarg-pwd-fd"):
            expect(f in feats, "feature %s listed" % f)
        # Only what vtpmd does: no TPM 1.2, no file backend, no shared-storage migration.
        for f in ("tpm-1.2", "nvram-backend-file", "cmdarg-migration"):
            expect(f not in feats, "feature %s not claimed" % f)
        for f in feats:
            expect(re.fullmatch(r"[a-z0-9.-]+", f) is not None, "feature name %s" % f)
        expect(re.fullmatch(r"\d+\.\d+\.\d+", caps["version"]) is not None, "version")


def test_print_states():
    d = tmpdir()
    # Empty directory: byte for byte what swtpm prints.
    p = run(["socket", "--print-states", "--tpmstate", "dir=" + d, "--tpm2"])
    expect_eq(p.returncode, 0, "exit code")
    expect_eq(p.stdout, b'{ "type": "swtpm", "states": [] }', "empty directory")
    if shutil.which("swtpm"):
        s = subprocess.run(["swtpm", "socket", "--print-states", "--tpmstate", "dir=" + d,
                            "--tpm2"], stdout=subprocess.PIPE, timeout=30)
        expect_eq(p.stdout, s.stdout, "same output as swtpm")
    # Missing directory: an error and exit code 1.
    p = run(["socket", "--print-states", "--tpmstate", "dir=" + d + "/nope", "--tpm2"])
    expect_eq(p.returncode, 1, "missing directory")
    expect(b"--print-states" in p.stderr, "error names the option: %s" % p.stderr)
    # After the TPM has run and stored its volatile state.
    dm = Daemon(VTPMD, "unix", state=os.path.join(d, "st"))
    c = dm.ctrl()
    expect_eq(ctrl_exchange(c, cmd(0x02, bytes(4)), 4), OK, "INIT")
    expect_eq(ctrl_exchange(c, cmd(0x0A), 4), OK, "STORE_VOLATILE")
    expect_eq(ctrl_exchange(c, cmd(0x03), 4), OK, "SHUTDOWN")
    dm.proc.wait(timeout=5)
    p = run(["socket", "--print-states", "--tpmstate", "backend-uri=dir://" + dm.state, "--tpm2"])
    states = json.loads(p.stdout)["states"]
    # One file holds both states; without --key it is sealed under the all-zero key.
    expect_eq(states, [{"name": "permall",
                        "size": os.path.getsize(os.path.join(dm.state, "tpm2-00.permall")),
                        "encrypted": False}], "the vTPM file listed with its size")
    # With a key: encrypted.
    k = os.path.join(d, "key")
    with open(k, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(k, 0o600)
    dk = Daemon(VTPMD, "unix", ["--key", "file=" + k], state=os.path.join(d, "st2"))
    dk.stop()
    p = run(["socket", "--print-states", "--tpmstate", "dir=" + dk.state, "--tpm2"])
    expect_eq(json.loads(p.stdout)["states"][0]["encrypted"], True, "encrypted with --key")
    # TPM_PATH stands in for --tpmstate.
    p = run(["socket", "--print-states", "--tpm2"], env=dict(os.environ, TPM_PATH=dm.state))
    expect_eq(json.loads(p.stdout)["states"], states, "TPM_PATH")


def test_version_help():
    p = run(["--version"])
    expect_eq(p.returncode, 0, "--version")
    expect(re.match(rb"vtpmd \d+\.\d+\.\d+", p.stdout), "version line %r" % p.stdout)
    p = run(["socket", "--help"])
    expect_eq(p.returncode, 0, "--help")
    for opt in (b"--tpmstate", b"--ctrl", b"--server", b"--flags", b"--seccomp", b"--log",
                b"--pid", b"--print-states", b"--print-capabilities", b"--terminate", b"--key",
                b"--migration-key", b"--vmid"):
        expect(opt in p.stdout, "--help mentions %s" % opt)


def test_bad_options():
    d = tmpdir()
    st = "dir=" + d
    cases = [
        (["socket", "--tpm2", "--bogus"], "--bogus"),
        (["socket", "--tpm2", "--tpmstate", st, "--ctrl", "type=unixio,path=/x,bar=1"], "--ctrl"),
        (["socket", "--tpm2", "--tpmstate", st, "--ctrl", "type=udp,port=1"], "--ctrl"),
        (["socket", "--tpm2", "--tpmstate", st, "--server", "port=99999"], "--server"),
        (["socket", "--tpm2", "--tpmstate", st, "--flags", "startup-now"], "--flags"),
        (["socket", "--tpm2", "--tpmstate", st, "--seccomp", "action=trap"], "--seccomp"),
        (["socket", "--tpm2", "--tpmstate", st, "--log", "level=high"], "--log"),
        (["socket", "--tpm2", "--tpmstate", st, "--ctrl", "type=unixio,path=%s/c" % d,
          "--key", "pwdfd=3"], "--key: descriptor 3 is not open"),
        (["socket", "--tpm2", "--tpmstate", st, "--key", "fd=3,mode=aes-cbc"], "--key: mode="),
        (["socket", "--tpm2", "--tpmstate", st, "--ctrl", "type=unixio,path=%s/c" % d,
          "--migration-key", "file=/nonexistent/k"], "--migration-key: cannot open key file"),
        (["socket", "--tpm2", "--tpmstate", "dir=/nonexistent/x", "--ctrl",
          "type=unixio,path=%s/c" % d], "--tpmstate"),
        (["socket", "--tpm2", "--ctrl", "type=unixio,path=%s/c" % d], "--tpmstate"),
        (["socket", "--tpm2", "--tpmstate", st], "channel"),
        (["socket", "--tpmstate", st, "--ctrl", "type=unixio,path=%s/c" % d], "--tpm2"),
        (["socket", "--tpm2", "--tpmstate", st, "--ctrl", "type=unixio,fd=99"], "--ctrl"),
        (["cuse", "--tpm2"], "cuse"),
    ]
    for args, name in cases:
        p = run(args, env={k: v for k, v in os.environ.items() if k not in ("TPM_PATH",
                                                                          "TPM_PORT")})
        err = p.stderr.decode()
        expect_eq(p.returncode, 1, "exit code for %s" % args)
        expect_eq(err.count("\n"), 1, "one line for %s: %r" % (args, err))
        expect(err.startswith("vtpmd: ") and name in err, "%s named in %r" % (name, err))
        expect_eq(p.stdout, b"", "nothing on stdout for %s" % args)


def test_daemon_pid_sandbox():
    d = tmpdir()
    os.mkdir(os.path.join(d, "st"))
    sock = os.path.join(d, "ctrl.sock")
    pidf = os.path.join(d, "vtpmd.pid")
    p = run(["socket", "--tpm2", "--daemon", "--pid", "file=" + pidf, "--tpmstate",
             "dir=%s/st,mode=0600" % d, "--ctrl", "type=unixio,path=%s,mode=0600" % sock,
             "--log", "file=%s/log,level=2" % d], timeout=10)
    expect_eq(p.returncode, 0, "the launching process")
    pid = int(open(pidf).read())
    try:
        st = proc_status(pid)
        expect_eq(st["Name"], "vtpmd", "process name")
        expect_eq(st["NoNewPrivs"].strip(), "1", "no new privileges")
        expect_eq(st["Seccomp"].strip(), "2", "seccomp filter applied")
        expect_eq(st["Threads"].strip(), "1", "single-threaded")
        expect_eq(os.stat(sock).st_mode & 0o777, 0o600, "socket mode")
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        expect_eq(ctrl_exchange(s, cmd(0x02, bytes(4)), 4), OK, "INIT through the daemon")
        expect_eq(os.stat(os.path.join(d, "st", "tpm2-00.permall")).st_mode & 0o777, 0o600,
                  "state file mode")
        s.close()
        # The same directory cannot serve two TPMs.
        p2 = run(["socket", "--tpm2", "--tpmstate", "dir=%s/st" % d, "--ctrl",
                  "type=unixio,path=%s/other.sock" % d])
        expect_eq(p2.returncode, 1, "second daemon on the same state")
        expect(b"in use" in p2.stderr, "reason: %s" % p2.stderr)
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not alive(pid):
                break
            time.sleep(0.05)
        expect(not alive(pid), "exited on SIGTERM")
        expect(not os.path.exists(pidf), "pid file removed")
        expect(not os.path.exists(sock), "socket removed")
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_seccomp_modes():
    for action, want in (("none", "0"), ("log", "2"), ("kill", "2")):
        dm = Daemon(VTPMD, "unix", ["--seccomp", "action=" + action])
        st = proc_status(dm.proc.pid)
        expect_eq(st["Seccomp"].strip(), want, "Seccomp with action=%s" % action)
        expect_eq(st["NoNewPrivs"].strip(), "1", "NoNewPrivs with action=%s" % action)
        dm.stop()


def test_inherited_fds():
    """swtpm_setup's way: --server type=tcp,fd=N --ctrl type=unixio,clientfd=M."""
    d = tmpdir()
    os.mkdir(os.path.join(d, "st"))
    data_mine, data_theirs = socket.socketpair()
    ctrl_mine, ctrl_theirs = socket.socketpair()
    pidf = os.path.join(d, "pid")
    args = [VTPMD, "socket", "--flags", "not-need-init,startup-clear", "--tpmstate",
            "backend-uri=dir://%s/st" % d, "--pid", "file=" + pidf, "--tpm2", "--log",
            "file=%s/log" % d, "--server", "type=tcp,fd=%d" % data_theirs.fileno(),
            "--ctrl", "type=unixio,clientfd=%d" % ctrl_theirs.fileno()]
    p = subprocess.Popen(args, pass_fds=(data_theirs.fileno(), ctrl_theirs.fileno()))
    try:
        data_theirs.close()
        ctrl_theirs.close()
        data_mine.settimeout(5)
        ctrl_mine.settimeout(5)
        data_mine.sendall(tpm_cmd(0x17B, struct.pack(">H", 8)))
        expect_eq(rc_of(recv_tpm(data_mine)), 0, "GetRandom on the inherited data socket")
        expect_eq(ctrl_exchange(ctrl_mine, cmd(0x01), 8)[:4], bytes(4), "GET_CAPABILITY")
        expect_eq(int(open(pidf).read()), p.pid, "pid file")
        expect_eq(ctrl_exchange(ctrl_mine, cmd(0x03), 4), OK, "SHUTDOWN")
        expect_eq(p.wait(timeout=5), 0, "exit code")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # A listening socket handed over with fd= (as a service manager would).
    lst = socket.socket(socket.AF_UNIX)
    path = os.path.join(d, "l.sock")
    lst.bind(path)
    lst.listen(1)
    p = subprocess.Popen([VTPMD, "socket", "--tpm2", "--tpmstate", "dir=%s/st" % d, "--ctrl",
                          "type=unixio,fd=%d" % lst.fileno()], pass_fds=(lst.fileno(),),
                         stderr=subprocess.DEVNULL)
    try:
        lst.close()
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(path)
        expect_eq(ctrl_exchange(s, cmd(0x0F), 8), bytes(8), "GET_CONFIG via a handed listener")
    finally:
        p.kill()
        p.wait()


def test_damaged_state():
    d = tmpdir()
    st = os.path.join(d, "st")
    os.mkdir(st)
    junk = b"not a state file" * 10
    with open(os.path.join(st, "tpm2-00.permall"), "wb") as f:
        f.write(junk)
    p = run(["socket", "--tpm2", "--tpmstate", "dir=" + st, "--ctrl",
             "type=unixio,path=%s/c.sock" % d])
    expect_eq(p.returncode, 1, "exit code")
    expect(b"not a vTPM file" in p.stderr and b"untouched" in p.stderr, "message: %s" % p.stderr)
    expect_eq(open(os.path.join(st, "tpm2-00.permall"), "rb").read(), junk, "file untouched")
    # With --log, the reason goes to the log and still to stderr (one line).
    p = run(["socket", "--tpm2", "--tpmstate", "dir=" + st, "--ctrl",
             "type=unixio,path=%s/c.sock" % d, "--log", "file=%s/log" % d])
    expect_eq(p.returncode, 1, "exit code with --log")
    expect_eq(p.stderr.count(b"\n"), 1, "one line on stderr: %s" % p.stderr)
    expect(b"not a vTPM file" in p.stderr, "stderr: %s" % p.stderr)
    expect("not a vTPM file" in open(os.path.join(d, "log")).read(), "and in the log")
    expect(not os.path.exists(os.path.join(d, "c.sock")), "no socket left behind")


def test_log_levels():
    for level, want_cmd, want_conn in ((1, False, False), (2, False, True), (3, True, True)):
        dm = Daemon(VTPMD, "unix", log_level=level)
        c = dm.ctrl()
        ctrl_exchange(c, cmd(0x01), 8)
        c.close()
        dm.stop()
        log = dm.log_text()
        expect_eq("ctrl: GET_CAPABILITY" in log, want_cmd, "commands at level %d" % level)
        expect_eq("client connected" in log, want_conn, "connections at level %d" % level)
        expect("serving the TPM" in log, "start-up line at level %d" % level)
    # file=- logs nothing anywhere, and the TPM still serves.
    dm = Daemon(VTPMD, "unix", ["--log", "file=-"], log_level=None)
    c = dm.ctrl()
    expect_eq(ctrl_exchange(c, cmd(0x0F), 8), bytes(8), "serving with file=-")
    dm.stop()
    expect_eq(dm.proc.stderr.read(), b"", "nothing on stderr")


def test_swtpm_setup():
    """The real swtpm_setup drives vtpmd (--print-capabilities, --print-states, fd= and
    clientfd= channels, startup-clear, PCR_Allocate, SHUTDOWN)."""
    if not shutil.which("swtpm_setup"):
        print("swtpm_setup not installed: skipped")
        return
    d = tmpdir()
    st = os.path.join(d, "st")
    os.mkdir(st)
    setup = ["swtpm_setup", "--tpm2", "--tpm-state", st, "--tpm", VTPMD + " socket",
             "--logfile", os.path.join(d, "setup.log"), "--pcr-banks", "sha256,sha384"]
    p = subprocess.run(setup + ["--overwrite"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    log = open(os.path.join(d, "setup.log")).read()
    expect_eq(p.returncode, 0, "swtpm_setup: %s %s" % (p.stderr, log))
    expect("Successfully activated PCR banks sha256,sha384" in log, "banks: %s" % log)
    permall = open(os.path.join(st, "tpm2-00.permall"), "rb").read()
    # --not-overwrite sees the state through --print-states and leaves it alone.
    p = subprocess.run(setup + ["--not-overwrite"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    expect_eq(p.returncode, 0, "swtpm_setup --not-overwrite")
    expect_eq(open(os.path.join(st, "tpm2-00.permall"), "rb").read(), permall, "kept")
    # The provisioned TPM has the two banks.
    dm = Daemon(VTPMD, "tcp", ["--flags", "not-need-init,startup-clear"], state=st)
    s = dm.data()
    s.sendall(tpm_cmd(0x17A, struct.pack(">III", 5, 0, 8)))  # TPM_CAP_PCRS
    rsp = recv_tpm(s)
    expect_eq(rc_of(rsp), 0, "GetCapability(PCRS)")
    count = struct.unpack(">I", rsp[15:19])[0]
    active = []
    off = 19
    for _ in range(count):
        alg, n = struct.unpack(">HB", rsp[off:off + 3])
        if any(rsp[off + 3:off + 3 + n]):
            active.append(alg)
        off += 3 + n
    expect_eq(active, [0x000B, 0x000C], "active banks after swtpm_setup")


TESTS = {
    "print_capabilities": test_print_capabilities,
    "print_states": test_print_states,
    "version_help": test_version_help,
    "bad_options": test_bad_options,
    "daemon_pid_sandbox": test_daemon_pid_sandbox,
    "seccomp_modes": test_seccomp_modes,
    "inherited_fds": test_inherited_fds,
    "damaged_state": test_damaged_state,
    "log_levels": test_log_levels,
    "swtpm_setup": test_swtpm_setup,
}

if __name__ == "__main__":
    VTPMD = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(TESTS)
    signal.alarm(600)
    sys.exit(Runner().run(TESTS, names))
