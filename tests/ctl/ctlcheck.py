#!/usr/bin/env python3
"""TESTS ONLY: checks the CLI tests (cli_test.sh) make on vtpmctl's output and data dir.

  ctlcheck.py get FILE EXPR            print EXPR evaluated with d = the JSON in FILE
  ctlcheck.py vms FILE                 check every field of a {"Vms": [...]} output
  ctlcheck.py images FILE              check every field of an image output
  ctlcheck.py error FILE CODE TYPE TEXT   check a {"Errors": [...]} output
  ctlcheck.py snapshot DATADIR         a stable dump of the registry and every file
  ctlcheck.py invariant DATADIR [swept]   no half VM (see below); prints the counts
  ctlcheck.py leak KEYFILE PATH...     no key of KEYFILE (hex lines) in any PATH, in any form

The invariant: every live vTPM row has its file; every live VM with TpmEnabled has a live
vTPM row; a terminated VM's vTPM has no key. With "swept": also no vTPM folder without a
live row (what the sweep guarantees after the next write command).
"""
import base64
import hashlib
import json
import os
import re
import sqlite3
import sys

ID_VM = re.compile(r"^i-[0-9a-f]{8}$")
ID_IMAGE = re.compile(r"^ami-[0-9a-f]{8}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def fail(msg):
    sys.stderr.write("ctlcheck: %s\n" % msg)
    sys.exit(1)


def load(path):
    with open(path) as f:
        try:
            return json.load(f)
        except ValueError as e:
            fail("%s is not JSON: %s" % (path, e))


def check(cond, msg):
    if not cond:
        fail(msg)


def check_context(d):
    rc = d.get("ResponseContext")
    check(isinstance(rc, dict) and re.match(r"^[0-9a-f-]{36}$", rc.get("RequestId", "")),
          "no ResponseContext.RequestId")


def check_vm(v):
    check(ID_VM.match(v["VmId"]), "VmId %r" % v.get("VmId"))
    check(ID_IMAGE.match(v["ImageId"]), "ImageId %r" % v.get("ImageId"))
    check(v["BootMode"] in ("uefi", "legacy"), "BootMode %r" % v.get("BootMode"))
    check(isinstance(v["TpmEnabled"], bool), "TpmEnabled not a boolean")
    check(v["State"] in ("stopped", "running", "terminated"), "State %r" % v.get("State"))
    check(DATE.match(v["CreationDate"]), "CreationDate %r" % v.get("CreationDate"))
    check(v["Architecture"] == "x86_64", "Architecture")
    check((v["State"] == "terminated") == ("DeletionDate" in v), "DeletionDate")
    if v["TpmEnabled"]:
        check(v["BootMode"] == "uefi", "a VM with a vTPM is not uefi")
        t = v["Vtpm"]
        check(re.match(r"^[0-9a-f]{32}$", t["VtpmId"]), "VtpmId %r" % t.get("VtpmId"))
        check(t["State"] in ("attached", "destroyed"), "Vtpm.State")
        check((t["State"] == "destroyed") == (v["State"] == "terminated"), "Vtpm.State vs State")
        check(DATE.match(t["CreationDate"]), "Vtpm.CreationDate")
        check((t["State"] == "destroyed") == ("DestructionDate" in t), "DestructionDate")
        check(set(t) <= {"VtpmId", "State", "CreationDate", "DestructionDate"},
              "unexpected Vtpm fields %s" % sorted(t))
    else:
        check("Vtpm" not in v, "Vtpm on a VM without TpmEnabled")
    allowed = {"VmId", "ImageId", "BootMode", "TpmEnabled", "State", "CreationDate",
               "DeletionDate", "Architecture", "Vtpm"}
    check(set(v) <= allowed, "unexpected VM fields %s" % sorted(set(v) - allowed))


def check_image(i):
    check(ID_IMAGE.match(i["ImageId"]), "ImageId %r" % i.get("ImageId"))
    check(isinstance(i["ImageName"], str) and i["ImageName"], "ImageName")
    check(isinstance(i["BootModes"], list) and i["BootModes"] and
          set(i["BootModes"]) <= {"uefi", "legacy"} and
          len(set(i["BootModes"])) == len(i["BootModes"]), "BootModes %r" % i.get("BootModes"))
    check(isinstance(i["TpmMandatory"], bool), "TpmMandatory")
    check(i["SecureBoot"] is False, "SecureBoot")
    check(DATE.match(i["CreationDate"]), "CreationDate")
    check(i["State"] == "available", "State")
    allowed = {"ImageId", "ImageName", "BootModes", "TpmMandatory", "SecureBoot",
               "CreationDate", "State", "Architecture", "ImageType", "FileLocation",
               "KernelFile", "InitrdFile", "KernelCmdline"}
    check(set(i) <= allowed, "unexpected image fields %s" % sorted(set(i) - allowed))


def registry(datadir):
    # Read-write, so that SQLite rolls back a transaction a killed writer left (a hot
    # journal), as it does for any opener: what is checked is what every reader sees.
    path = os.path.join(datadir, "registry.db")
    check(os.path.exists(path), "no registry")
    return sqlite3.connect(path)


def cmd_snapshot(datadir):
    out = []
    path = os.path.join(datadir, "registry.db")
    if os.path.exists(path) and os.path.getsize(path) > 0:
        try:
            db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
            for t in ("meta", "images", "vms", "vtpms"):
                for row in db.execute("SELECT * FROM %s ORDER BY 1" % t):
                    out.append("%s %r" % (t, row))
            db.close()
        except sqlite3.DatabaseError:
            out.append("registry unreadable")
    for root, dirs, files in os.walk(datadir):
        dirs.sort()
        rel = os.path.relpath(root, datadir)
        if rel == "locks":
            # lock files carry no data: they come and go with the commands that take them,
            # and must stay empty
            for f in files:
                check(os.path.getsize(os.path.join(root, f)) == 0, "lock %s not empty" % f)
            continue
        out.append("dir %s" % rel)
        for f in sorted(files):
            p = os.path.join(root, f)
            if os.path.islink(p) or not os.path.isfile(p):
                out.append("special %s" % os.path.join(rel, f))
                continue
            with open(p, "rb") as fh:
                out.append("file %s %s" % (os.path.join(rel, f),
                                           hashlib.sha256(fh.read()).hexdigest()))
    print("\n".join(out))


def cmd_invariant(datadir, swept):
    db = registry(datadir)
    vms = {r[0]: r for r in db.execute("SELECT vm_id, tpm_enabled, state FROM vms")}
    vt = {r[1]: r for r in db.execute(
        "SELECT vtpm_id, vm_id, wrapped_key, path, destroyed_at FROM vtpms")}
    live = 0
    for vm_id, tpm, state in vms.values():
        if tpm and state != "terminated":
            check(vm_id in vt and vt[vm_id][4] is None, "VM %s has no live vTPM row" % vm_id)
    for vtpm_id, vm_id, key, path, destroyed in vt.values():
        check(vm_id in vms, "vTPM %s of unknown VM %s" % (vtpm_id, vm_id))
        if destroyed is None:
            live += 1
            check(key is not None and len(key) == 61, "vTPM of %s: bad wrapped key" % vm_id)
            check(os.path.isfile(os.path.join(datadir, path)),
                  "half a VM: live vTPM row of %s without its file %s" % (vm_id, path))
            check(vms[vm_id][2] != "terminated", "live vTPM of a terminated VM %s" % vm_id)
        else:
            check(key is None, "destroyed vTPM of %s still has a key" % vm_id)
            check(vms[vm_id][2] == "terminated", "destroyed vTPM of a live VM %s" % vm_id)
    folders = 0
    top = os.path.join(datadir, "vtpm")
    if os.path.isdir(top):
        for name in os.listdir(top):
            folders += 1
            if swept:
                check(name in vt and vt[name][4] is None,
                      "half a VM: vTPM folder %s without a live row" % name)
    print("vms=%d live_vtpms=%d folders=%d" % (len(vms), live, folders))


def cmd_leak(keyfile, paths):
    with open(keyfile) as f:
        keys = [bytes.fromhex(line.strip()) for line in f if line.strip()]
    check(keys, "no key to look for")
    forms = []
    for k in keys:
        forms += [k, k.hex().encode(), k.hex().upper().encode(), base64.b64encode(k),
                  base64.b64encode(k).rstrip(b"="), base64.urlsafe_b64encode(k).rstrip(b"="),
                  k[:16], k[16:]]
    seen = 0
    for p in paths:
        files = []
        if os.path.isdir(p):
            for root, _, fs in os.walk(p):
                files += [os.path.join(root, f) for f in fs]
        else:
            files.append(p)
        for f in files:
            try:
                with open(f, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            seen += 1
            for form in forms:
                check(form not in data, "a key appears in %s" % f)
    print("keys=%d files=%d" % (len(keys), seen))


def main():
    a = sys.argv[1:]
    if a[0] == "get":
        d = load(a[1])
        for expr in a[2:]:
            v = eval(expr, {"d": d, "len": len, "sorted": sorted})
            print(json.dumps(v) if not isinstance(v, str) else v)
    elif a[0] == "vms":
        d = load(a[1])
        check(isinstance(d.get("Vms"), list), "no Vms list")
        for v in d["Vms"]:
            check_vm(v)
        check_context(d)
        print(len(d["Vms"]))
    elif a[0] == "images":
        d = load(a[1])
        items = [d["Image"]] if "Image" in d else d["Images"]
        for i in items:
            check_image(i)
        check_context(d)
        print(len(items))
    elif a[0] == "error":
        d = load(a[1])
        check(list(d) == ["Errors"] and len(d["Errors"]) == 1, "not one error: %r" % d)
        e = d["Errors"][0]
        check(set(e) == {"Code", "Type", "Details"}, "error fields %r" % sorted(e))
        check(e["Code"] == a[2], "Code %r, expected %r (%s)" % (e["Code"], a[2], e["Details"]))
        check(e["Type"] == a[3], "Type %r, expected %r (%s)" % (e["Type"], a[3], e["Details"]))
        check(a[4].lower() in e["Details"].lower(),
              "Details %r do not say %r" % (e["Details"], a[4]))
    elif a[0] == "snapshot":
        cmd_snapshot(a[1])
    elif a[0] == "invariant":
        cmd_invariant(a[1], len(a) > 2 and a[2] == "swept")
    elif a[0] == "leak":
        cmd_leak(a[1], a[2:])
    else:
        fail("unknown check %s" % a[0])


main()
