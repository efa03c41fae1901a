#!/usr/bin/env python3
"""TESTS ONLY: a stand-in for vtpmd that behaves like it towards vtpmctl.

It takes vtpmd's command line as vtpmctl builds it (launch.c) and refuses anything else; reads
the data key from --key fd=N until end of file (32 bytes); has the vTPM file opened by
vtpm_check (env FAKE_VTPM_CHECK), which plays vtpmd's part (the file must open for --vmid with
that key, or the start fails with its reason, as vtpmd would); then goes to the background
(--daemon: the parent exits 0 once the control socket listens and the pid file is written) and
serves swtpm's control channel one client at a time: SET_DATAFD (0x10), INIT (0x02), STOP
(0x0e), GET_CAPABILITY (0x01), SHUTDOWN (0x03: answer 0, then exit). With --terminate it exits
when the client that sent SET_DATAFD (QEMU) goes away. SIGTERM: exit.

Log lines (--log file=): "opened <sha256 of the state>", "datafd", "init", "shutdown",
"sigterm", "terminate". Test knobs (environment): FAKE_VTPMD_KEY_OUT=FILE appends the key in
hex (so the leak test knows what to look for), FAKE_VTPMD_IGNORE_SHUTDOWN=1 answers SHUTDOWN
without exiting, FAKE_VTPMD_FAIL=TEXT refuses to start with that text.
"""
import os
import select
import signal
import socket
import struct
import subprocess
import sys


def die(msg):
    sys.stderr.write("vtpmd: %s\n" % msg)
    sys.exit(1)


def kv(s):
    out = {}
    for item in s.split(","):
        k, _, v = item.partition("=")
        out[k] = v
    return out


def parse(argv):
    o = {"daemon": False, "terminate": False}
    if not argv or argv[0] != "socket":
        die("expected 'socket' first")
    i = 1
    takes = {"--tpmstate", "--ctrl", "--pid", "--log", "--key", "--vmid"}
    flags = {"--tpm2": "tpm2", "--daemon": "daemon", "--terminate": "terminate"}
    while i < len(argv):
        a = argv[i]
        if a in flags:
            o[flags[a]] = True
            i += 1
        elif a in takes and i + 1 < len(argv):
            o[a[2:]] = argv[i + 1]
            i += 2
        else:
            die("unknown option or missing value: %s" % a)
    for need in ("tpm2", "tpmstate", "ctrl", "pid", "log", "key", "vmid"):
        if need not in o:
            die("missing --%s" % need)
    return o


def main():
    o = parse(sys.argv[1:])
    if os.environ.get("FAKE_VTPMD_FAIL"):
        die(os.environ["FAKE_VTPMD_FAIL"])
    state = kv(o["tpmstate"])
    ctrl = kv(o["ctrl"])
    key_opt = kv(o["key"])
    if ctrl.get("type") != "unixio" or "path" not in ctrl:
        die("--ctrl must be type=unixio,path=")
    if key_opt.get("mode") != "aes-256-gcm" or "fd" not in key_opt:
        die("--key must be fd=N,mode=aes-256-gcm")
    log_path = kv(o["log"])["file"]
    pid_path = kv(o["pid"])["file"]

    kfd = int(key_opt["fd"])
    key = b""
    while True:
        chunk = os.read(kfd, 64)
        if not chunk:
            break
        key += chunk
    os.close(kfd)
    if len(key) != 32:
        die("the key from fd %d is %d bytes, not 32" % (kfd, len(key)))
    if os.environ.get("FAKE_VTPMD_KEY_OUT"):
        with open(os.environ["FAKE_VTPMD_KEY_OUT"], "a") as f:
            f.write(key.hex() + "\n")

    vfile = os.path.join(state["dir"], "tpm2-00.permall")
    chk = subprocess.run([os.environ["FAKE_VTPM_CHECK"], vfile, o["vmid"]], input=key,
                         stdout=subprocess.PIPE)
    key = None
    out = chk.stdout.decode().strip()
    if chk.returncode != 0:
        die(out)
    log = open(log_path, "a", buffering=1)
    log.write("opened %s\n" % out.split()[1])

    path = ctrl["path"]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    os.chmod(path, 0o600)
    ls.listen(4)

    if o["daemon"]:
        r, w = os.pipe()
        if os.fork() > 0:
            os.close(w)
            os.read(r, 1)
            os._exit(0)
        os.close(r)
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        with open(pid_path, "w") as f:
            f.write("%d\n" % os.getpid())
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.write(w, b"x")
        os.close(w)
    else:
        with open(pid_path, "w") as f:
            f.write("%d\n" % os.getpid())

    def bye(why):
        log.write(why + "\n")
        for p in (path, pid_path):
            try:
                os.unlink(p)
            except OSError:
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, lambda *_: bye("sigterm"))
    client = None
    data_client = None
    buf = b""
    bodies = {0x02: 4, 0x05: 1, 0x0B: 1, 0x11: 4}
    while True:
        rl = [client] if client else [ls]
        ready, _, _ = select.select(rl, [], [])
        if ls in ready and client is None:
            client, _ = ls.accept()
            buf = b""
            continue
        data = client.recv(4096)
        if not data:
            was_data = client is data_client
            client.close()
            client = None
            if was_data and o["terminate"]:
                bye("terminate")
            continue
        buf += data
        while len(buf) >= 4:
            code = struct.unpack(">I", buf[:4])[0]
            need = 4 + bodies.get(code, 0)
            if len(buf) < need:
                break
            buf = buf[need:]
            if code == 0x03:
                client.sendall(struct.pack(">I", 0))
                if not os.environ.get("FAKE_VTPMD_IGNORE_SHUTDOWN"):
                    bye("shutdown")
                log.write("shutdown ignored\n")
            elif code == 0x10:
                data_client = client
                log.write("datafd\n")
                client.sendall(struct.pack(">I", 0))
            elif code == 0x02:
                log.write("init\n")
                client.sendall(struct.pack(">I", 0))
            elif code == 0x01:
                client.sendall(struct.pack(">Q", 0xFFFF))
            elif code == 0x0E:
                client.sendall(struct.pack(">I", 0))
            else:
                client.sendall(struct.pack(">I", 0x0A))


main()
