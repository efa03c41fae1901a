#!/usr/bin/env python3
"""TESTS ONLY: a stand-in for qemu-system-x86_64 that behaves like it towards vtpmctl.

It takes QEMU's options as vtpmctl builds them (launch.c) and refuses unknown ones; checks
that every -drive/-kernel/-initrd file exists; for -tpmdev emulator it connects to the
-chardev socket (vtpmd's control channel) and sends SET_DATAFD, failing like QEMU when vtpmd
is not there; goes to the background with -daemonize (the parent exits once the QMP socket
listens and the -pidfile is written); serves QMP on -qmp unix:PATH: greeting,
qmp_capabilities, system_powerdown (the "guest" powers off: QEMU exits, sending SHUTDOWN to
vtpmd as QEMU does when it closes its TPM backend), system_reset (INIT to vtpmd, as on a guest
reset), quit. SIGTERM: the same clean exit as QEMU.

It writes to its -serial file: "boot tpm=yes|no firmware=ovmf|seabios" at start and at each
reset, "powerdown", "reset", "exit". Its argv goes to <serial file>.argv. Test knob:
FAKE_QEMU_IGNORE_POWERDOWN=1 (a guest that ignores the ACPI power button).
"""
import json
import os
import select
import signal
import socket
import struct
import sys


def die(msg):
    sys.stderr.write("qemu-system-x86_64: %s\n" % msg)
    sys.exit(1)


def main():
    argv = sys.argv[1:]
    takes = {"-name", "-machine", "-m", "-smp", "-display", "-serial", "-qmp", "-pidfile",
             "-drive", "-chardev", "-tpmdev", "-device", "-kernel", "-initrd", "-append"}
    flags = {"-nodefaults", "-daemonize"}
    o = {"-drive": [], "flags": set()}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in flags:
            o["flags"].add(a)
            i += 1
        elif a in takes and i + 1 < len(argv):
            if a == "-drive":
                o["-drive"].append(argv[i + 1])
            elif a in o:
                die("option %s given twice" % a)
            else:
                o[a] = argv[i + 1]
            i += 2
        else:
            die("unknown option or missing value: %s" % a)
    for need in ("-serial", "-qmp", "-pidfile"):
        if need not in o:
            die("missing %s" % need)
    serial = o["-serial"][len("file:"):]
    qmp_path = o["-qmp"][len("unix:"):].split(",")[0]
    firmware = "seabios"
    for d in o["-drive"]:
        opts = dict(x.partition("=")[::2] for x in d.split(","))
        if not os.path.isfile(opts["file"]):
            die("-drive %s: Could not open '%s': No such file or directory" % (d, opts["file"]))
        if opts.get("if") == "pflash":
            firmware = "ovmf"
    for f in ("-kernel", "-initrd"):
        if f in o and not os.path.isfile(o[f]):
            die("could not open %s '%s'" % (f, o[f]))
    tpm = None
    if "-tpmdev" in o:
        chardev = dict(x.partition("=")[::2] for x in o["-chardev"].split(",")[1:])
        tpm = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            tpm.connect(chardev["path"])
            tpm.sendall(struct.pack(">I", 0x10))
            if struct.unpack(">I", tpm.recv(4))[0] != 0:
                raise OSError("SET_DATAFD refused")
        except OSError as e:
            die("-chardev socket,id=chrtpm,path=%s: tpm-emulator: %s" % (chardev["path"], e))
    with open(serial + ".argv", "w") as f:
        f.write("\n".join(sys.argv) + "\n")
    con = open(serial, "a", buffering=1)

    def boot():
        con.write("boot tpm=%s firmware=%s\n" % ("yes" if tpm else "no", firmware))
        if tpm:
            tpm.sendall(struct.pack(">II", 0x02, 0))
            tpm.recv(4)

    try:
        os.unlink(qmp_path)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(qmp_path)
    ls.listen(4)
    pid_path = o["-pidfile"]
    if "-daemonize" in o["flags"]:
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
    boot()
    if "-daemonize" in o["flags"]:
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.write(w, b"x")
        os.close(w)

    def bye(why):
        con.write(why + "\n")
        if tpm:
            try:
                tpm.sendall(struct.pack(">I", 0x03))
                tpm.recv(4)
            except OSError:
                pass
        for p in (qmp_path, pid_path):
            try:
                os.unlink(p)
            except OSError:
                pass
        con.write("exit\n")
        os._exit(0)

    signal.signal(signal.SIGTERM, lambda *_: bye("sigterm"))
    clients = {}
    while True:
        ready, _, _ = select.select([ls] + list(clients), [], [])
        for s in ready:
            if s is ls:
                c, _ = ls.accept()
                clients[c] = b""
                c.sendall(b'{"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}},'
                          b' "capabilities": []}}\r\n')
                continue
            data = s.recv(4096)
            if not data:
                s.close()
                del clients[s]
                continue
            clients[s] += data
            while b"\n" in clients[s]:
                line, _, rest = clients[s].partition(b"\n")
                clients[s] = rest
                cmd = json.loads(line)["execute"]
                if cmd == "qmp_capabilities":
                    s.sendall(b'{"return": {}}\r\n')
                elif cmd == "system_powerdown":
                    s.sendall(b'{"return": {}}\r\n')
                    con.write("powerdown\n")
                    if not os.environ.get("FAKE_QEMU_IGNORE_POWERDOWN"):
                        s.sendall(b'{"timestamp": {"seconds": 0, "microseconds": 0}, '
                                  b'"event": "SHUTDOWN", "data": {"guest": true}}\r\n')
                        bye("guest powered off")
                elif cmd == "system_reset":
                    s.sendall(b'{"return": {}}\r\n')
                    con.write("reset\n")
                    boot()
                elif cmd == "quit":
                    s.sendall(b'{"return": {}}\r\n')
                    bye("quit")
                else:
                    s.sendall(b'{"error": {"class": "CommandNotFound", "desc": "no"}}\r\n')


main()
