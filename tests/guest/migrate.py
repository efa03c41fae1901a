#!/usr/bin/env python3
"""Live migration of a running guest between two vtpmd instances on one host.

Usage: migrate.py VTPMD [--device crb|tis] [--out DIR] [--timeout SECONDS]

What happens (docs/vtpmd.md "Migration"):
  1. vtpmd A and vtpmd B, each with its own state folder and data key, the same --vmid and the
     same --migration-key (every key from a 0600 file).
  2. QEMU A (TCG, OVMF, the guest of tests/guest/build.sh with vtpm.test=migrate) boots on
     vtpmd A. The guest extends PCR 16, defines and writes an NV index, sets the owner
     authorization, prints VTPM-MIGRATE-READY and waits for a line on its console.
  3. QEMU B starts with -incoming on a unix socket, wired to vtpmd B. QMP `migrate` on A: QEMU A
     takes the state blobs from vtpmd A (CMD_GET_STATEBLOB, sealed under the migration key),
     QEMU B hands them to vtpmd B (CMD_STOP, CMD_SET_STATEBLOB, CMD_INIT(DELETE_VOLATILE)) and
     runs the guest on. QEMU A is then quit (CMD_SHUTDOWN ends vtpmd A).
  4. The host types "go" on B's console. The guest reads PCR 16 (must equal the value before),
     reads the NV index with the owner authorization, changes the authorization back (proves
     it), gets random bytes from /dev/tpm0, prints VTPM-MIGRATE-PASS and powers off.
  5. The host checks vtpmd B's log (the blobs came in sealed and were accepted) and, with
     vtpmd B's file reopened by a new vtpmd and tpm2-tools, that the NV index is in B's file.
Exit 0 when every check passed. Every process and temporary folder is cleaned up.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROCS = []
FAILS = []


def fail(msg):
    FAILS.append(msg)
    print("guest-migrate: FAIL: %s" % msg, file=sys.stderr, flush=True)


def say(msg):
    print("guest-migrate: %s" % msg, flush=True)


def start(args, log):
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    PROCS.append(p)
    return p


def stop_all():
    for p in PROCS:
        if p.poll() is None:
            p.terminate()
    for p in PROCS:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def connect_unix(path, proc, timeout=30.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s: the process exited (%d)" % (path, proc.returncode))
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            time.sleep(0.05)
    raise RuntimeError("%s did not appear" % path)


class Qmp:
    def __init__(self, path, proc):
        self.s = connect_unix(path, proc)
        self.s.settimeout(120)
        self.f = self.s.makefile("rwb")
        self._read()
        self.call("qmp_capabilities")

    def _read(self):
        while True:
            line = self.f.readline()
            if not line:
                raise RuntimeError("QMP connection closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def call(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        self.f.flush()
        rsp = self._read()
        if "error" in rsp:
            raise RuntimeError("QMP %s: %s" % (name, rsp["error"]))
        return rsp.get("return")


class Console:
    """A QEMU serial port on a unix socket: everything read is appended to a log file."""

    def __init__(self, path, proc, log):
        self.s = connect_unix(path, proc)
        self.s.setblocking(False)
        self.log = log
        self.text = ""

    def pump(self):
        try:
            while True:
                b = self.s.recv(65536)
                if not b:
                    return False
                t = b.decode(errors="replace").replace("\r", "")
                self.text += t
                self.log.write(t)
                self.log.flush()
        except BlockingIOError:
            return True
        except OSError:
            return False

    def wait_for(self, marker, timeout, procs=()):
        end = time.time() + timeout
        while time.time() < end:
            alive = self.pump()
            if marker in self.text:
                return True
            for bad in ("Kernel panic", "!!!! X64 Exception", "VTPM-MIGRATE-FAIL"):
                if bad in self.text:
                    return False
            if not alive or any(p.poll() is not None for p in procs):
                self.pump()
                return marker in self.text
            time.sleep(0.1)
        return False

    def send(self, line):
        self.s.setblocking(True)
        self.s.sendall(line.encode() + b"\n")
        self.s.setblocking(False)


def key_file(d, name, data=None):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(os.urandom(32) if data is None else data)
    os.chmod(path, 0o600)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vtpmd")
    ap.add_argument("--device", default="crb", choices=("crb", "tis"))
    ap.add_argument("--out")
    ap.add_argument("--timeout", type=int, default=400)
    o = ap.parse_args()
    vtpmd = os.path.abspath(o.vtpmd)
    # MALLOC_PERTURB_ (set by meson) makes QEMU's TCG fault OVMF on some resets: never pass it.
    os.environ.pop("MALLOC_PERTURB_", None)
    qemu = os.environ.get("VTPM_QEMU", "qemu-system-x86_64")
    ovmf_code = os.environ.get("VTPM_OVMF_CODE", "/usr/share/OVMF/OVMF_CODE_4M.fd")
    ovmf_vars = os.environ.get("VTPM_OVMF_VARS", "/usr/share/OVMF/OVMF_VARS_4M.fd")
    for need in (qemu, "tpm2_nvread"):
        if not shutil.which(need):
            say("%s is not installed: cannot run" % need)
            return 1
    guest = subprocess.run([os.path.join(HERE, "build.sh")], stdout=subprocess.PIPE,
                           text=True, timeout=1200)
    if guest.returncode != 0:
        say("building the guest failed")
        return 1
    kv = dict(l.split("=", 1) for l in guest.stdout.splitlines() if "=" in l)
    kernel, initrd = kv.get("VTPM_GUEST_KERNEL"), kv.get("VTPM_GUEST_INITRD")
    w = tempfile.mkdtemp(prefix="vtpm-migrate.")
    t0 = time.time()
    try:
        run(o, vtpmd, qemu, ovmf_code, ovmf_vars, kernel, initrd, w, t0)
    except Exception as e:  # noqa: BLE001 - reported as a failure
        fail("%s: %s" % (type(e).__name__, e))
    finally:
        stop_all()
        if o.out:
            os.makedirs(o.out, exist_ok=True)
            for n in os.listdir(w):
                if n.endswith(".log"):
                    shutil.copy(os.path.join(w, n), o.out)
        shutil.rmtree(w, ignore_errors=True)
    took = time.time() - t0
    if FAILS:
        say("FAIL (%.1fs): %s" % (took, "; ".join(FAILS)))
        return 1
    say("PASS: a running guest moved from vtpmd A to vtpmd B with its PCR 16, NV index and "
        "owner authorization (%.1fs)" % took)
    return 0


def run(o, vtpmd, qemu, ovmf_code, ovmf_vars, kernel, initrd, w, t0):
    vm = "guest-migrate-vm"
    mk = key_file(w, "migration.key")
    logs = {}
    for side in ("a", "b"):
        os.mkdir(os.path.join(w, side))
        logs[side] = open(os.path.join(w, "qemu-%s.log" % side), "w")
    vars_fd = os.path.join(w, "OVMF_VARS.fd")
    shutil.copy(ovmf_vars, vars_fd)
    vt = {}
    for side in ("a", "b"):
        k = key_file(w, "data-%s.key" % side)
        args = [vtpmd, "socket", "--tpm2", "--tpmstate", "dir=%s/%s,mode=0600" % (w, side),
                "--ctrl", "type=unixio,path=%s/%s.ctrl,mode=0600" % (w, side),
                "--log", "file=%s/vtpmd-%s.log,level=3" % (w, side), "--key", "file=" + k,
                "--migration-key", "file=" + mk, "--vmid", vm, "--terminate"]
        vt[side] = (start(args, logs[side]), k)
        connect_unix("%s/%s.ctrl" % (w, side), vt[side][0]).close()
    mig = os.path.join(w, "migration.sock")

    def qemu_args(side):
        a = [qemu, "-machine", "q35,accel=tcg", "-m", "512", "-smp", "1", "-nodefaults",
             "-no-user-config", "-display", "none",
             "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + ovmf_code,
             "-drive", "if=pflash,format=raw,unit=1,file=" + vars_fd,
             "-kernel", kernel, "-initrd", initrd,
             "-append", "console=ttyS0 panic=-1 vtpm.test=migrate vtpm.reboot=0",
             "-chardev", "socket,id=ser0,path=%s/%s.console,server=on,wait=off" % (w, side),
             "-serial", "chardev:ser0",
             "-qmp", "unix:%s/%s.qmp,server=on,wait=off" % (w, side),
             "-chardev", "socket,id=chrtpm,path=%s/%s.ctrl" % (w, side),
             "-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
             "-device", "tpm-%s,tpmdev=tpm0" % o.device, "-no-reboot"]
        if side == "b":
            a += ["-incoming", "unix:" + mig]
        return ["timeout", "--kill-after=5", str(o.timeout)] + a

    qa = start(qemu_args("a"), logs["a"])
    qmpa = Qmp("%s/a.qmp" % w, qa)
    ca = Console("%s/a.console" % w, qa, open(os.path.join(w, "console-a.log"), "w"))
    say("QEMU A boots the guest on vtpmd A")
    if not ca.wait_for("VTPM-MIGRATE-READY", o.timeout, (qa,)):
        fail("the guest did not reach VTPM-MIGRATE-READY on A; last lines: %r" %
             ca.text[-600:])
        return
    ready = [l for l in ca.text.splitlines() if l.startswith("VTPM-MIGRATE-READY")][0]
    say("guest on A: %s (%.1fs)" % (ready, time.time() - t0))
    qb = start(qemu_args("b"), logs["b"])
    qmpb = Qmp("%s/b.qmp" % w, qb)
    cb = Console("%s/b.console" % w, qb, open(os.path.join(w, "console-b.log"), "w"))
    qmpa.call("migrate", uri="unix:" + mig)
    end = time.time() + 180
    status = None
    while time.time() < end:
        status = qmpa.call("query-migrate").get("status")
        if status in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.2)
    if status != "completed":
        fail("migration status %s" % status)
        return
    while time.time() < end and qmpb.call("query-status")["status"] != "running":
        time.sleep(0.2)
    say("migrated to QEMU B on vtpmd B (%.1fs); QEMU A quits" % (time.time() - t0))
    qmpa.call("quit")
    qa.wait(timeout=30)
    vt["a"][0].wait(timeout=10)
    cb.send("go")
    if not cb.wait_for("VTPM-MIGRATE-PASS", o.timeout, (qb,)):
        lines = [l for l in cb.text.splitlines() if l.startswith("VTPM-")]
        fail("the guest did not report VTPM-MIGRATE-PASS after the migration: %s" % lines[-8:])
    for l in cb.text.splitlines():
        if l.startswith("VTPM-RESULT") or l.startswith("VTPM-MIGRATE"):
            say("guest on B: " + l)
    qb.wait(timeout=60)
    vt["b"][0].wait(timeout=10)
    la = open("%s/vtpmd-a.log" % w, errors="replace").read()
    lb = open("%s/vtpmd-b.log" % w, errors="replace").read()
    if "GET_STATEBLOB type 1" not in la or "GET_STATEBLOB type 2" not in la:
        fail("vtpmd A did not hand out the permanent and volatile blobs")
    if "SET_STATEBLOB: permanent state replaced and committed" not in lb or \
            "INIT: resumed from the volatile state blob" not in lb:
        fail("vtpmd B did not take the blobs: %s" % lb[-800:])
    # The NV index lives in vtpmd B's own file now.
    port = 24000 + os.getpid() % 20000
    chk = start([vtpmd, "socket", "--tpm2", "--tpmstate", "dir=%s/b" % w, "--server",
                 "type=tcp,port=%d" % port, "--ctrl", "type=tcp,port=%d" % (port + 1),
                 "--flags", "not-need-init,startup-clear", "--key", "file=" + vt["b"][1],
                 "--vmid", vm], logs["b"])
    time.sleep(0.5)
    p = subprocess.run(["tpm2_nvread", "-T", "swtpm:host=127.0.0.1,port=%d" % port,
                        "0x1500020", "-C", "o"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    chk.terminate()
    chk.wait(timeout=10)
    if p.returncode != 0 or p.stdout != b"vTPM migrated!\n":
        fail("vtpmd B's file does not hold the NV index: %r %r" % (p.stdout, p.stderr[-300:]))
    else:
        say("vtpmd B's file holds the guest's NV index: %r" % p.stdout)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(130))
    sys.exit(main())
