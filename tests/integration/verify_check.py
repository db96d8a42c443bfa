#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tamper evidence end to end: signed records from the real daemon, checked by the sink and by
sealbench-verify, then mutated at random: every mutation must be detected.

1. The rig (tools/sealbench_rig.py) runs a private mosquitto, the sink with --keys DIR --tofu,
   the daemon on the sim board and the station simulator: ~20 packages (some with photos) and
   a void. The sink learns the station key from the retained status, stores every record and
   rejects none.
2. Independent checks in Python (python3-cryptography, not our C code): the key the sink
   learned is the public half of the station's key file (mode 0600); every exported record
   verifies after removing the ,"sig":"..." suffix byte for byte (firmware/schema/
   CANONICAL.md); prev is the SHA-256 of the previous published record.
3. The sink refuses forgeries while running: a record signed by another key, an unsigned one,
   a genuine record edited under its old signature (reason=signature, not "conflict"); a
   status announcing another key does not replace the registered one; a second sink with no
   registered key rejects a genuine record, a third with the key registered stores it.
4. sealbench-verify accepts the sink's export (with photos) and the station's outbox, then
   must reject every random mutation: a byte edited inside a field, a record deleted, two
   records swapped, a forged record inserted or appended (well-formed, chained, signed by
   another key), a signature stripped, the chain truncated (tail with --expect-last, head,
   mid-line), a photo swapped or edited; on the outbox: an edited JSON, a deleted row,
   swapped rows, swapped photo blobs, truncation. It must name the right first bad record.

Usage: tests/integration/verify_check.py --bin BUILD_DIR [--seed N] [--rounds N] [--keep]
Prints "verify: N passed, N failed"; exits 1 on any failure.
"""
import argparse
import base64
import hashlib
import json
import os
import queue
import random
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import sealbench_rig as rig  # noqa: E402

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                                   Ed25519PublicKey)
    from cryptography.exceptions import InvalidSignature
except ImportError:  # a missing dependency is a failure, not a skip
    sys.exit("verify: python3-cryptography is required (apt-get install python3-cryptography)")

SITE = "wh1"
STATION = "st01"
SIG_MEMBER = b',"sig":"'
SIG_SUFFIX_LEN = len(SIG_MEMBER) + 88 + 2  # ,"sig":"<88 base64>"}
ZERO = "0" * 64
ARGS = None


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


# ---- the canonical form, independently ------------------------------------------------------

def split_signed(published):
    """(signed bytes, signature) of a published record, per CANONICAL.md."""
    check(len(published) > SIG_SUFFIX_LEN and published.endswith(b'"}'), "no sig suffix")
    at = len(published) - SIG_SUFFIX_LEN
    check(published[at:at + len(SIG_MEMBER)] == SIG_MEMBER, "sig is not the last member")
    sig = base64.b64decode(published[at + len(SIG_MEMBER):-2], validate=True)
    return published[:at] + b"}", sig


def raw_pub(pub):
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign_published(key, signed):
    sig = base64.b64encode(key.sign(signed))
    return signed[:-1] + SIG_MEMBER + sig + b'"}'


# ---- running things -------------------------------------------------------------------------

def verify(*args, stdin=None):
    """Run sealbench-verify; returns (exit code, stdout lines)."""
    p = subprocess.run([os.path.join(ARGS.bin, "sealbench-verify")] + list(args), input=stdin,
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(errors="replace").splitlines(), p.stderr.decode()


# "bad <id> (line N): ...", "bad line N: ..." (no usable id), "bad <id>: ..." (end of chain)
BAD_RE = re.compile(r"^bad (?:(?:line|outbox row) (\d+)|(\S+)(?: \((?:line|outbox row) (\d+)\))?)"
                    r": (.*)$")


def first_bad(lines):
    """(label, position or None, reasons) of the first "bad" line."""
    for line in lines:
        m = BAD_RE.match(line)
        if m:
            pos = m.group(1) or m.group(3)
            return m.group(2), int(pos) if pos else None, m.group(4)
    return None, None, None


def start_sink(st, keys_dir, tofu=True, client_id=None, db=None, name="central"):
    argv = [os.path.join(st.bin, "sealbench-sink"), "--host", "127.0.0.1",
            "--port", str(st.broker.port), "--site", SITE,
            "--db", db or st.sink_db, "--orders", st.orders_file,
            "--photos", st.sink_photos if name == "central" else os.path.join(st.dir, name),
            "--keys", keys_dir]
    if tofu:
        argv.append("--tofu")
    if client_id:
        argv += ["--client-id", client_id]
    log = os.path.join(st.dir, "%s.log" % name)
    p = rig.Proc(name, argv, log, echo=st._sink_echo if name == "central" else None)
    p.wait_line(lambda l: l.strip() == "ready", 30)
    return p


def drain(proc):
    """Forget the lines a process has printed so far (the next wait sees only new ones)."""
    while True:
        try:
            line = proc.lines.get_nowait()
        except queue.Empty:
            return
        if line is None:
            raise rig.RigError("%s exited" % proc.name)


def mosquitto_pub(st, topic, payload, retain=False):
    argv = ["mosquitto_pub", "-V", "5", "-h", "127.0.0.1", "-p", str(st.broker.port),
            "-q", "1", "-t", topic, "-s"]
    if retain:
        argv.append("-r")
    subprocess.run(argv, input=payload, check=True, timeout=30)


def topic(kind, station=STATION):
    return "sealbench/v1/%s/%s/%s" % (SITE, station, kind)


# ---- 1-3: the station, the sink ---------------------------------------------------------------

class World:
    """What the live part leaves behind for the mutation tests."""
    pass


def make_records(work):
    st = rig.Station(os.path.join(work, "rig"), ARGS.bin)
    w = World()
    w.st = st
    w.keys = os.path.join(work, "keys")
    kinds = ["plain" if i % 3 else "fragile" for i in range(20)]
    orders, scn = [], []
    for i, kind in enumerate(kinds):
        o, lines = rig.make_package(7000 + i, kind)
        orders.append(o)
        scn.append(lines)
    scn[-1] = scn[-1] + ["scan CMD-VOID", "expect-text Voided"]
    st.set_orders(orders)
    path = os.path.join(st.dir, "s.scn")
    rig.write_scenario(path, scn)
    try:
        st.broker.start()
        st.sink = start_sink(st, w.keys)
        st.start_daemon()
        check(st.run_scenario(path) == 0, "scenario failed (see %s/sim.log)" % st.dir)
        ids = [r[0] for r in st.station_records()]
        check(len(ids) == 21, "expected 21 records (20 seals, 1 void), got %d" % len(ids))
        missing = st.wait_delivered(ids, timeout=120)
        check(not missing, "not delivered: %s" % sorted(missing)[:5])
        sink_log = open(os.path.join(st.dir, "central.log")).read()
        check("key %s learned" % STATION in sink_log, "the sink did not learn the key (TOFU)")
        check("rejected" not in sink_log, "the sink rejected genuine records: %s" %
              [l for l in sink_log.splitlines() if "rejected" in l][:3])
        w.ids = ids
        live_sink_checks(w)
    finally:
        st.stop()
    w.outbox = os.path.join(st.data_dir, "outbox.db")
    w.export = os.path.join(work, "chain.jsonl")
    out = subprocess.run([os.path.join(ARGS.bin, "sealbench-sink"), "--db", st.sink_db, "export"],
                         capture_output=True, check=True, timeout=60).stdout
    with open(w.export, "wb") as f:
        f.write(out)
    w.lines = [l for l in out.split(b"\n") if l]
    return w


def live_sink_checks(w):
    st = w.st
    # the key: learned from the status, the public half of the station's key file
    key_path = os.path.join(st.data_dir, "station.key")
    mode = stat.S_IMODE(os.stat(key_path).st_mode)
    check(mode == 0o600, "station key mode %o, expected 600" % mode)
    with open(key_path, "rb") as f:
        priv = serialization.load_pem_private_key(f.read(), password=None)
    check(isinstance(priv, Ed25519PrivateKey), "station key is not Ed25519")
    pub_b64 = base64.b64encode(raw_pub(priv.public_key())).decode()
    with open(os.path.join(w.keys, STATION + ".pub")) as f:
        learned = f.read()
    check(learned == pub_b64 + "\n", "learned key %r is not the station's %r" % (learned, pub_b64))
    w.pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(pub_b64))
    w.pub_b64 = pub_b64

    recs = st.station_records()
    forger = Ed25519PrivateKey.generate()
    last = recs[-1][1].encode()
    last_rec = json.loads(last)
    seq = last_rec["seq"] + 1
    signed, _ = split_signed(recs[0][1].encode())
    rec = json.loads(signed)
    rec.update(seq=seq, id="%s-%010d" % (STATION, seq), prev=hashlib.sha256(last).hexdigest())
    rec["packer"]["id"] = "P-FORGER"
    forged_signed = json.dumps(rec, separators=(",", ":")).encode()

    # another key; no signature; a genuine record edited under its old signature
    edited = recs[2][1].encode().replace(b'"P-1001"', b'"P-1002"', 1)
    check(edited != recs[2][1].encode(), "no packer ID to edit")
    cases = [(sign_published(forger, forged_signed), rec["id"]),
             (forged_signed, rec["id"]),
             (edited, recs[2][0])]
    for payload, rid in cases:
        drain(st.sink)
        mosquitto_pub(st, topic("evidence"), payload)
        line = st.sink.wait_line(lambda l: l.startswith(("rejected", "stored", "duplicate")), 30)
        check(line == "rejected %s reason=signature" % rid,
              "forgery %s: sink said %r, expected a signature rejection" % (rid, line))
    check(rec["id"] not in st.sink_records(), "a forged record was stored")

    # a status announcing another key: reported, the registered key stays
    other_b64 = base64.b64encode(raw_pub(forger.public_key())).decode()
    mosquitto_pub(st, topic("status"), json.dumps({"online": True, "pubkey": other_b64}).encode())
    st.sink.wait_line(lambda l: l == "key %s mismatch" % STATION, 30)
    with open(os.path.join(w.keys, STATION + ".pub")) as f:
        check(f.read() == pub_b64 + "\n", "a status replaced the registered key")
    # the station's own status (retained) still carries its key: put it back for the next sinks
    mosquitto_pub(st, topic("status"), json.dumps({"online": True, "pubkey": pub_b64}).encode(),
                  retain=True)

    # registered at central: no key, no records; the key in DIR, records
    empty = os.path.join(os.path.dirname(w.keys), "keys-empty")
    os.makedirs(empty)
    registered = os.path.join(os.path.dirname(w.keys), "keys-registered")
    os.makedirs(registered)
    shutil.copy(os.path.join(w.keys, STATION + ".pub"), registered)
    sinks = []
    try:
        for name, kdir in (("central-nokey", empty), ("central-registered", registered)):
            sinks.append(start_sink(st, kdir, tofu=False, client_id="sink-" + name,
                                    db=os.path.join(st.dir, name + ".db"), name=name))
        mosquitto_pub(st, topic("evidence"), recs[1][1].encode())
        line = sinks[0].wait_line(lambda l: l.startswith(("rejected", "stored")), 30)
        check(line == "rejected %s reason=signature" % recs[1][0],
              "a sink without the station's key said %r" % line)
        line = sinks[1].wait_line(lambda l: l.startswith(("rejected", "stored")), 30)
        check(line.startswith("stored %s " % recs[1][0]),
              "a sink with the registered key said %r" % line)
    finally:
        for p in sinks:
            p.stop()


def independent_check(w):
    """Every exported record verified in Python: signature, prev, seq."""
    prev = ZERO
    check(len(w.lines) == len(w.ids), "export has %d records, station %d" %
          (len(w.lines), len(w.ids)))
    for n, line in enumerate(w.lines, start=1):
        signed, sig = split_signed(line)
        try:
            w.pub.verify(sig, signed)
        except InvalidSignature:
            raise Fail("line %d: signature does not verify in Python" % n)
        check(b'"sig"' not in signed, "line %d: sig inside the signed bytes" % n)
        rec = json.loads(line)
        check(rec["seq"] == n and rec["prev"] == prev, "line %d: chain broken" % n)
        prev = hashlib.sha256(line).hexdigest()


# ---- 4: mutations ------------------------------------------------------------------------------

def write_lines(path, lines, tail=b"\n"):
    with open(path, "wb") as f:
        f.write(b"\n".join(lines) + (tail if lines else b""))


def expect_detected(what, code, out, want_pos=None, want_label=None):
    check(code == 1, "%s: not detected (exit %d): %s" % (what, code, out[-1:] if out else out))
    check(out and out[-1].startswith("FAILED"), "%s: no FAILED summary: %s" % (what, out[-1:]))
    label, pos, reasons = first_bad(out)
    if want_pos is not None:
        check(pos == want_pos, "%s: first bad at %s (%s: %s), expected position %d" %
              (what, pos, label, reasons, want_pos))
    if want_label is not None:
        check(label == want_label, "%s: first bad %s (%s), expected %s" %
              (what, label, reasons, want_label))


def photo_lines(w):
    return [i for i, l in enumerate(w.lines) if json.loads(l).get("photo")]


class Mutator:
    def __init__(self, w, work):
        self.w = w
        self.work = work
        self.rng = random.Random(ARGS.seed)
        self.n = 0
        self.forger = Ed25519PrivateKey.generate()

    def run_lines(self, what, lines, want_pos=None, want_label=None, photos=None, extra=()):
        path = os.path.join(self.work, "mut.jsonl")
        write_lines(path, lines)
        code, out, err = verify("--keys", self.w.keys, "--photos", photos or self.w.st.sink_photos,
                                "--expect-last", str(len(self.w.lines)), *extra, path)
        expect_detected(what, code, out, want_pos, want_label)
        self.n += 1

    def edit_byte(self):
        lines = list(self.w.lines)
        i = self.rng.randrange(len(lines))
        line = bytearray(lines[i])
        # a byte inside a field: a letter or digit inside a string or number value
        spots = [j for j, c in enumerate(line) if chr(c).isalnum() and j > 0]
        j = self.rng.choice(spots)
        old = chr(line[j])
        pool = "0123456789" if old.isdigit() else "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        line[j] = ord(self.rng.choice([c for c in pool if c != old]))
        lines[i] = bytes(line)
        self.run_lines("edit byte %d of record %d" % (j, i + 1), lines, want_pos=i + 1)

    def delete(self):
        lines = list(self.w.lines)
        i = self.rng.randrange(len(lines) - 1)  # the last one is truncation
        del lines[i]
        self.run_lines("delete record %d" % (i + 1), lines, want_pos=i + 1)

    def reorder(self):
        lines = list(self.w.lines)
        i, j = sorted(self.rng.sample(range(len(lines)), 2))
        lines[i], lines[j] = lines[j], lines[i]
        self.run_lines("swap records %d and %d" % (i + 1, j + 1), lines, want_pos=i + 1)

    def forge(self, at):
        """A well-formed record for position @at (seq at+1, prev linked), signed by a forger."""
        lines = self.w.lines
        signed, _ = split_signed(lines[self.rng.randrange(len(lines))])
        rec = json.loads(signed)
        rec["seq"] = at + 1
        rec["id"] = "%s-%010d" % (STATION, at + 1)
        rec["prev"] = hashlib.sha256(lines[at - 1]).hexdigest() if at else ZERO
        rec["packer"]["id"] = "P-%04d" % self.rng.randrange(10000)
        return json.dumps(rec, separators=(",", ":")).encode()

    def insert_forged(self):
        lines = list(self.w.lines)
        at = self.rng.randrange(len(lines) + 1)
        forged = sign_published(self.forger, self.forge(at))
        lines.insert(at, forged)
        extra = ()
        self.run_lines("insert forged record at %d" % (at + 1), lines, want_pos=at + 1,
                       extra=extra)

    def replace_forged(self):
        """Replace a record by a forgery in its place: only the signature (and the next
        record's prev) can tell."""
        lines = list(self.w.lines)
        at = self.rng.randrange(len(lines))
        lines[at] = sign_published(self.forger, self.forge(at))
        self.run_lines("replace record %d by a forgery" % (at + 1), lines, want_pos=at + 1)

    def strip_sig(self):
        lines = list(self.w.lines)
        at = self.rng.randrange(len(lines))
        lines[at], _ = split_signed(lines[at])
        self.run_lines("strip the signature of record %d" % (at + 1), lines, want_pos=at + 1)

    def truncate_tail(self):
        lines = list(self.w.lines)
        keep = self.rng.randrange(1, len(lines))
        self.run_lines("truncate to %d records" % keep, lines[:keep],
                       want_label="%s-%010d" % (STATION, keep + 1))

    def truncate_head(self):
        lines = list(self.w.lines)
        cut = self.rng.randrange(1, len(lines))
        self.run_lines("drop the first %d records" % cut, lines[cut:], want_pos=1)

    def truncate_bytes(self):
        data = b"\n".join(self.w.lines)
        cut = self.rng.randrange(len(data) - len(self.w.lines[-1]) + 1, len(data))
        path = os.path.join(self.work, "mut.jsonl")
        with open(path, "wb") as f:
            f.write(data[:cut])
        code, out, _ = verify("--keys", self.w.keys, path)
        expect_detected("cut the file at byte %d" % cut, code, out, want_pos=len(self.w.lines))
        self.n += 1

    def photo_swap(self):
        idx = photo_lines(self.w)
        check(len(idx) >= 2, "need two photos, have %d" % len(idx))
        i, j = sorted(self.rng.sample(idx, 2))
        photos = os.path.join(self.work, "photos-mut")
        shutil.rmtree(photos, ignore_errors=True)
        shutil.copytree(self.w.st.sink_photos, photos)
        pi = os.path.join(photos, STATION, self.w.ids[i] + ".jpg")
        pj = os.path.join(photos, STATION, self.w.ids[j] + ".jpg")
        os.rename(pi, pi + ".x")
        os.rename(pj, pi)
        os.rename(pi + ".x", pj)
        self.run_lines("swap photos of records %d and %d" % (i + 1, j + 1), self.w.lines,
                       want_pos=i + 1, photos=photos)

    def photo_edit(self):
        i = self.rng.choice(photo_lines(self.w))
        photos = os.path.join(self.work, "photos-mut")
        shutil.rmtree(photos, ignore_errors=True)
        shutil.copytree(self.w.st.sink_photos, photos)
        p = os.path.join(photos, STATION, self.w.ids[i] + ".jpg")
        data = bytearray(open(p, "rb").read())
        k = self.rng.randrange(len(data))
        data[k] ^= 1 << self.rng.randrange(8)
        with open(p, "wb") as f:
            f.write(data)
        self.run_lines("flip a bit of the photo of record %d" % (i + 1), self.w.lines,
                       want_pos=i + 1, photos=photos)

    # the outbox
    def outbox_copy(self):
        path = os.path.join(self.work, "outbox-mut.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
        src = sqlite3.connect("file:%s?mode=ro" % self.w.outbox, uri=True)
        dst = sqlite3.connect(path)
        src.backup(dst)
        src.close()
        return path, dst

    def run_outbox(self, what, path, want_pos=None, want_label=None):
        code, out, _ = verify("--keys", self.w.keys, "--expect-last", str(len(self.w.lines)),
                              "--outbox", path)
        expect_detected(what, code, out, want_pos, want_label)
        self.n += 1

    def outbox_edit(self):
        path, db = self.outbox_copy()
        i = self.rng.randrange(len(self.w.lines)) + 1
        js = db.execute("SELECT json FROM records WHERE seq = ?", (i,)).fetchone()[0]
        spots = [j for j, c in enumerate(js) if c.isalnum()]
        j = self.rng.choice(spots)
        new = "7" if js[j] != "7" else "8"
        db.execute("UPDATE records SET json = ? WHERE seq = ?", (js[:j] + new + js[j + 1:], i))
        db.commit()
        db.close()
        self.run_outbox("outbox: edit record %d" % i, path, want_pos=i)

    def outbox_delete(self):
        path, db = self.outbox_copy()
        i = self.rng.randrange(len(self.w.lines) - 1) + 1
        db.execute("DELETE FROM records WHERE seq = ?", (i,))
        db.commit()
        db.close()
        self.run_outbox("outbox: delete record %d" % i, path, want_pos=i + 1)

    def outbox_swap(self):
        path, db = self.outbox_copy()
        i, j = sorted(self.rng.sample(range(1, len(self.w.lines) + 1), 2))
        ji = db.execute("SELECT json FROM records WHERE seq = ?", (i,)).fetchone()[0]
        jj = db.execute("SELECT json FROM records WHERE seq = ?", (j,)).fetchone()[0]
        db.execute("UPDATE records SET json = ? WHERE seq = ?", (jj, i))
        db.execute("UPDATE records SET json = ? WHERE seq = ?", (ji, j))
        db.commit()
        db.close()
        self.run_outbox("outbox: swap records %d and %d" % (i, j), path, want_pos=i)

    def outbox_photo_swap(self):
        path, db = self.outbox_copy()
        rows = [r[0] for r in db.execute("SELECT seq FROM photos ORDER BY seq")]
        check(len(rows) >= 2, "outbox: need two photo blobs, have %d" % len(rows))
        i, j = sorted(self.rng.sample(rows, 2))
        pi = db.execute("SELECT photo FROM photos WHERE seq = ?", (i,)).fetchone()[0]
        pj = db.execute("SELECT photo FROM photos WHERE seq = ?", (j,)).fetchone()[0]
        db.execute("UPDATE photos SET photo = ? WHERE seq = ?", (pj, i))
        db.execute("UPDATE photos SET photo = ? WHERE seq = ?", (pi, j))
        db.commit()
        db.close()
        self.run_outbox("outbox: swap photos of %d and %d" % (i, j), path, want_pos=i)

    def outbox_truncate(self):
        path, db = self.outbox_copy()
        keep = self.rng.randrange(1, len(self.w.lines))
        db.execute("DELETE FROM records WHERE seq > ?", (keep,))
        db.commit()
        db.close()
        self.run_outbox("outbox: truncate to %d" % keep, path,
                        want_label="%s-%010d" % (STATION, keep + 1))


def test_tamper(work):
    w = make_records(work)
    independent_check(w)
    n = len(w.lines)
    photos = photo_lines(w)
    check(len(photos) >= 5, "expected photos on the fragile packages, got %d" % len(photos))

    # the genuine chain passes, from both sources
    code, out, err = verify("--keys", w.keys, "--photos", w.st.sink_photos, "--expect-last",
                            str(n), w.export)
    check(code == 0 and out[-1].startswith("ok: %d records" % n) and
          "%d photos checked" % len(photos) in out[-1], "genuine export: %d %s %s" %
          (code, out, err))
    code, out, err = verify("--keys", w.keys, "--expect-last", str(n), "--outbox", w.outbox)
    check(code == 0 and out[-1].startswith("ok: %d records" % n), "genuine outbox: %d %s %s" %
          (code, out, err))
    code, out, err = verify("--pubkey", os.path.join(w.keys, STATION + ".pub"), "-",
                            stdin=b"\n".join(w.lines) + b"\n")
    check(code == 0, "genuine export on stdin with --pubkey: %d %s %s" % (code, out, err))
    # the wrong key fails every record
    other = os.path.join(work, "other.pub")
    with open(other, "w") as f:
        f.write(base64.b64encode(raw_pub(Ed25519PrivateKey.generate().public_key())).decode() +
                "\n")
    code, out, _ = verify("--pubkey", other, w.export)
    expect_detected("another station's key", code, out, want_pos=1)
    check(out[-1].startswith("FAILED: %d records, %d bad" % (n, n)), "wrong key: %s" % out[-1])
    # too much past the end
    code, out, _ = verify("--keys", w.keys, "--expect-last", str(n - 1), w.export)
    check(code == 1, "a chain longer than --expect-last passed")

    m = Mutator(w, work)
    kinds = [m.edit_byte, m.delete, m.reorder, m.insert_forged, m.replace_forged, m.strip_sig,
             m.truncate_tail, m.truncate_head, m.truncate_bytes, m.photo_swap, m.photo_edit,
             m.outbox_edit, m.outbox_delete, m.outbox_swap, m.outbox_photo_swap,
             m.outbox_truncate]
    for _ in range(ARGS.rounds):
        for k in kinds:
            k()
    print("  %d records (%d photos); %d mutations (seed %d), all detected" %
          (n, len(photos), m.n, ARGS.seed))


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ARGS = ap.parse_args()
    ARGS.bin = os.path.abspath(ARGS.bin)
    if ARGS.seed is None:
        ARGS.seed = int(time.time()) % 100000
    work = tempfile.mkdtemp(prefix="sb-verify-")
    passed = failed = 0
    print("--- test_tamper: signed chain, sink checks, %d rounds of mutations (seed %d)" %
          (ARGS.rounds, ARGS.seed), flush=True)
    try:
        test_tamper(work)
        passed += 1
        print("PASS test_tamper", flush=True)
    except (Fail, rig.RigError, subprocess.TimeoutExpired, subprocess.CalledProcessError) as e:
        failed += 1
        print("FAIL test_tamper: %s (work dir %s, seed %d)" % (e, work, ARGS.seed), flush=True)
    except Exception:
        failed += 1
        traceback.print_exc()
        print("FAIL test_tamper (exception; work dir %s, seed %d)" % (work, ARGS.seed))
    if failed == 0 and not ARGS.keep:
        shutil.rmtree(work, ignore_errors=True)
    print("verify: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
