"""Shared helpers for vtpmd's integration tests: start vtpmd (or swtpm, to compare) in a
private temporary directory, speak its control and data channels, and always clean up.

Every daemon started here is killed when the test ends, whatever happens (try/finally,
atexit, and SIGTERM/SIGINT handlers), and every temporary directory is removed.
"""

import array
import atexit
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

_daemons = []
_tmpdirs = []


def _cleanup():
    for p in _daemons:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
    _daemons.clear()
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)
    _tmpdirs.clear()


def _on_signal(signum, frame):
    _cleanup()
    sys.exit(128 + signum)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)
signal.signal(signal.SIGALRM, _on_signal)


def harness_track(proc):
    """Have a process started by a test killed when the test ends."""
    _daemons.append(proc)
    return proc


def tmpdir(prefix="vtpmd-test-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _tmpdirs.append(d)
    return d


def free_port_pair():
    """A TCP port P such that P and P+1 are free on 127.0.0.1 (the swtpm TCTI uses both)."""
    for _ in range(200):
        p = random.randint(20000, 60000)
        socks = []
        try:
            for q in (p, p + 1):
                s = socket.socket()
                s.bind(("127.0.0.1", q))
                socks.append(s)
            return p
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port pair found")


def cmd(code, body=b""):
    """A control-channel request: be32 code + body."""
    return struct.pack(">I", code) + body


def tpm_cmd(cc, params=b"", tag=0x8001):
    """A TPM 2.0 command with a correct header."""
    return struct.pack(">HII", tag, 10 + len(params), cc) + params


def pw_session():
    """An authorization area with one empty password session (TPM_RS_PW)."""
    area = struct.pack(">IHBH", 0x40000009, 0, 0, 0)
    return struct.pack(">I", len(area)) + area


def rc_of(rsp):
    """The response code of a TPM response."""
    if len(rsp) < 10:
        raise AssertionError("short TPM response %s" % rsp.hex())
    tag, size, rc = struct.unpack(">HII", rsp[:10])
    if size != len(rsp):
        raise AssertionError("TPM response size field %d, length %d" % (size, len(rsp)))
    return rc


def recv_exact(s, n, timeout=5.0):
    s.settimeout(timeout)
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            raise AssertionError("connection closed after %d of %d bytes" % (len(out), n))
        out += d
    return out


def recv_tpm(s, timeout=5.0):
    """Read one TPM response (10-byte header, then the rest)."""
    h = recv_exact(s, 10, timeout)
    size = struct.unpack(">I", h[2:6])[0]
    return h + recv_exact(s, size - 10, timeout)


def recv_all(s, wait=0.3):
    """Whatever arrives within wait seconds; b'' plus closed=True at end of stream."""
    s.settimeout(wait)
    out = b""
    closed = False
    try:
        while True:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            out += d
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    return out, closed


def is_closed(s, wait=2.0):
    """True when the peer closed the connection within wait seconds (no data before)."""
    data, closed = recv_all(s, wait)
    if data:
        raise AssertionError("unexpected bytes %s" % data.hex())
    return closed


class Daemon:
    """One vtpmd (or swtpm) in its own directory.

    kind: 'unix' (control on W/ctrl.sock, data by SET_DATAFD), 'tcp' (data on port P,
    control on P+1, as the swtpm TCTI expects), 'unixboth' (data W/tpm.sock, control
    W/tpm.sock.ctrl, the TCTI's path= form). extra: more arguments.
    """

    def __init__(self, binary, kind="unix", extra=(), state=None, log_level=3, start=True,
                 wait=True):
        self.binary = binary
        self.kind = kind
        self.dir = tmpdir()
        self.state = state or os.path.join(self.dir, "state")
        os.makedirs(self.state, exist_ok=True)
        self.log = os.path.join(self.dir, "vtpmd.log")
        self.ctrl_path = os.path.join(self.dir, "ctrl.sock")
        self.data_path = None
        self.port = None
        args = [binary, "socket", "--tpm2", "--tpmstate", "dir=" + self.state]
        # Only vtpmd writes the "serving" line that wait_ready looks for.
        self.wait_log = log_level is not None and "swtpm" not in os.path.basename(binary)
        if log_level is not None:
            args += ["--log", "file=%s,level=%d" % (self.log, log_level)]
        if kind == "unix":
            args += ["--ctrl", "type=unixio,path=" + self.ctrl_path]
        elif kind == "tcp":
            self.port = free_port_pair()
            args += ["--server", "type=tcp,port=%d" % self.port,
                     "--ctrl", "type=tcp,port=%d" % (self.port + 1)]
        elif kind == "unixboth":
            self.data_path = os.path.join(self.dir, "tpm.sock")
            self.ctrl_path = self.data_path + ".ctrl"
            args += ["--server", "type=unixio,path=" + self.data_path,
                     "--ctrl", "type=unixio,path=" + self.ctrl_path]
        self.args = args + list(extra)
        self.proc = None
        if start:
            self.start(wait)

    def start(self, wait=True):
        # TPM_PORT and TPM_PATH would add channels or state the test did not ask for.
        env = {k: v for k, v in os.environ.items() if k not in ("TPM_PORT", "TPM_PATH")}
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _daemons.append(self.proc)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                raise AssertionError("daemon exited with %d: %s" % (self.proc.returncode,
                                                                     err.decode(errors="replace")))
            # Listening starts before the state is loaded: with a log, wait for start-up to end.
            if self.wait_log and "serving the TPM" not in self.log_text():
                time.sleep(0.02)
                continue
            try:
                s = self.ctrl()
                s.close()
                return
            except OSError:
                time.sleep(0.02)
        raise AssertionError("daemon did not start listening")

    def ctrl(self):
        if self.kind == "tcp":
            return socket.create_connection(("127.0.0.1", self.port + 1), timeout=5)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(self.ctrl_path)
        return s

    def data(self):
        if self.kind == "tcp":
            return socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(self.data_path)
        return s

    def stop(self, timeout=5.0):
        """SIGTERM and wait; returns the exit code."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("daemon ignored SIGTERM")
        return self.proc.returncode

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def ctrl_exchange(s, req, n, fds=None):
    """Send one control request (with descriptors) and read an n-byte answer."""
    if fds:
        s.sendmsg([req], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        s.sendall(req)
    return recv_exact(s, n)


class Runner:
    """Runs named test functions, prints one line each, and fails the process at the end."""

    def __init__(self):
        self.failed = []
        self.passed = 0

    def run(self, tests, names):
        for name in names:
            fn = tests[name]
            t0 = time.time()
            try:
                fn()
                self.passed += 1
                print("PASS %s (%.2fs)" % (name, time.time() - t0), flush=True)
            except Exception as e:  # noqa: BLE001 - every failure is reported
                import traceback
                traceback.print_exc()
                self.failed.append(name)
                print("FAIL %s: %s" % (name, e), flush=True)
            finally:
                _cleanup()
        print("%d passed, %d failed" % (self.passed, len(self.failed)))
        return 1 if self.failed else 0


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_eq(got, want, what):
    if got != want:
        g = got.hex() if isinstance(got, (bytes, bytearray)) else got
        w = want.hex() if isinstance(want, (bytes, bytearray)) else want
        raise AssertionError("%s: got %s, want %s" % (what, g, w))
