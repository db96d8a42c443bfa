#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end check of sealbench-sink against a real mosquitto on a free loopback port.

Drives the sink the way a station does, with the mosquitto-clients tools (mosquitto_pub,
mosquitto_sub, mosquitto_rr, all MQTT 5 with -D properties), and checks its stdout lines, its
acks, its sqlite db (through `stats` / `export`) and its photo files:

  records stored and acked, duplicates acked again, conflicts kept out, photos reassembled from
  chunks in any order (before or after the record, with duplicates), bad hashes rejected and
  not acked, the partial-photo cap, order request/response with correlation data, a sink
  restart with the persistent session, a broker restart, clean exit on SIGTERM; then two sinks
  on one MQTT 5 shared subscription (--share) and one db: every record committed once, by one
  of them, photos put together from chunks spread over both, duplicates = 0.

Every wait is select() on a child's output with a deadline: no sleeps. "Nothing happened"
(no ack for a rejected record) is checked with a barrier: a later good record's ack arrives,
and the sink handles messages in order.

Usage: python3 tests/integration/sink_check.py [--bin DIR | --sink PATH] [--keep] [-v]
Prints "sink: N passed, N failed"; exits 1 on any failure.
"""
import argparse
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

SITE = "S"
TIMEOUT = 10.0  # seconds for any one expected event (the ASan build is slow)
ZERO_HASH = "0" * 64


class Child:
    """A child process whose output lines (one stream) are collected by Mux."""

    def __init__(self, mux, name, argv, stream="stdout", stderr_path=None):
        self.name = name
        self.lines = []
        self.used = set()
        self.buf = b""
        self.eof = False
        err = open(stderr_path, "ab") if stderr_path else subprocess.DEVNULL
        if stream == "stdout":
            self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=err)
            self.fd = self.p.stdout.fileno()
        else:
            self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE)
            self.fd = self.p.stderr.fileno()
        if err is not subprocess.DEVNULL:
            err.close()
        os.set_blocking(self.fd, False)
        mux.add(self)

    def feed(self):
        """Read what is there. @return False when nothing was (would block)."""
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return False
        if not data:
            self.eof = True
            return True
        self.buf += data
        *done, self.buf = self.buf.split(b"\n")
        self.lines += [d.decode(errors="replace") for d in done]
        return True

    def stop(self, sig=signal.SIGTERM):
        """Signal the child and reap it (bounded). @return its exit status."""
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            rc = self.p.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        # Keep what is left in the pipe (e.g. the sink's last lines), then close it.
        while not self.eof and self.feed():
            pass
        self.eof = True
        for f in (self.p.stdout, self.p.stderr):
            if f:
                f.close()
        return rc


class Mux:
    """Reads every child's stream, so that none blocks on a full pipe while we wait."""

    def __init__(self):
        self.children = []

    def add(self, c):
        self.children.append(c)

    def pump(self, timeout):
        live = [c for c in self.children if not c.eof]
        if not live:
            return
        r, _, _ = select.select([c.fd for c in live], [], [], max(timeout, 0))
        for c in live:
            if c.fd in r:
                c.feed()

    def expect(self, child, pred, timeout=TIMEOUT):
        """First not yet used line of @child satisfying @pred (a prefix or a function)."""
        test = pred if callable(pred) else (lambda s: s.startswith(pred))
        deadline = time.monotonic() + timeout
        while True:
            for i, line in enumerate(child.lines):
                if i not in child.used and test(line):
                    child.used.add(i)
                    return line
            left = deadline - time.monotonic()
            if left <= 0 or (child.eof and not child.buf):
                raise TimeoutError("%s: no line matching %r (exited: %s)" %
                                   (child.name, pred, child.p.poll()))
            self.pump(left)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sha256(b):
    return hashlib.sha256(b).hexdigest()


class Rig:
    def __init__(self, sink_bin, verbose):
        self.sink_bin = sink_bin
        self.verbose = verbose
        self.dir = tempfile.mkdtemp(prefix="sink-check-")
        self.db = os.path.join(self.dir, "central.db")
        self.photos = os.path.join(self.dir, "photos")
        self.sink_log = os.path.join(self.dir, "sink.log")
        self.port = free_port()
        self.mux = Mux()
        self.broker = self.sink = self.acks = None
        self.shared = []
        self.prev = {}
        self.payloads = {}
        self.ack_waited = {}
        self.passed = 0
        self.failed = 0
        self.orders = os.path.join(self.dir, "orders.json")
        self.order_list = [
            {"order_id": "SO-1001", "tracking": "1Z999AA10123456784", "carrier": "ups",
             "service": "ground", "signature": False, "declared_value_cents": 4599,
             "currency": "USD", "declared_weight_g": 1200, "skus": [{"sku": "MUG-01", "qty": 2}],
             "address": {"name": "A. Buyer", "street": "1 Main St", "city": "Springfield",
                         "state": "IL", "postal_code": "62701", "country": "US"},
             "flags": {"first_time_buyer": True, "vip": False},
             "address_validation": {"result": "pass", "failed": []}},
            {"order_id": "SO-1002", "tracking": "9400100000000000000000", "carrier": "usps",
             "service": "priority", "signature": True, "declared_value_cents": 125000,
             "currency": "USD", "declared_weight_g": 800, "skus": [{"sku": "LENS-9", "qty": 1}],
             "address": {"name": "B. Buyer", "street": "2 Elm St", "city": "Portland",
                         "state": "OR", "postal_code": "97201", "country": "US"},
             "flags": {"first_time_buyer": False, "vip": True},
             "address_validation": {"result": "fail", "failed": ["postal_code"]}},
        ]
        with open(self.orders, "w") as f:
            json.dump(self.order_list, f, indent=2)

    # -- reporting --
    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            if self.verbose:
                print("ok   %s" % name)
        else:
            self.failed += 1
            print("FAIL %s %s" % (name, detail))

    # -- processes --
    def start_broker(self):
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "set_tcp_nodelay true\nlog_dest stderr\n" % self.port)
        self.broker = Child(self.mux, "broker", ["mosquitto", "-c", conf], stream="stderr")
        self.mux.expect(self.broker, lambda s: "running" in s)

    def start_sink(self, *extra):
        argv = [self.sink_bin, "--host", "127.0.0.1", "--port", str(self.port), "--site", SITE,
                "--db", self.db, "--photos", self.photos, "--orders", self.orders,
                "--max-partials", "2", "-v"] + list(extra)
        self.sink = Child(self.mux, "sink", argv, stderr_path=self.sink_log)
        self.mux.expect(self.sink, "ready")

    def start_acks(self):
        # stdbuf: mosquitto_sub flushes messages, not its -d debug lines (the SUBACK we wait on).
        self.acks = Child(self.mux, "acks",
                          ["stdbuf", "-oL", "mosquitto_sub", "-V", "5", "-p", str(self.port),
                           "-q", "1", "-t", "sealbench/v1/%s/+/ack" % SITE, "-v", "-d"])
        self.mux.expect(self.acks, lambda s: "SUBACK" in s)

    def pub(self, topic, payload, props=()):
        argv = ["mosquitto_pub", "-V", "5", "-p", str(self.port), "-q", "1", "-t", topic, "-s"]
        for k, v in props:
            argv += ["-D", "publish", "user-property", k, v]
        subprocess.run(argv, input=payload, check=True, timeout=TIMEOUT,
                       stdout=subprocess.DEVNULL)
        self.mux.pump(0)

    def sink_cmd(self, cmd):
        return subprocess.run([self.sink_bin, "--db", self.db, cmd], check=True,
                              timeout=TIMEOUT, capture_output=True).stdout

    # -- station side --
    def record(self, station, seq, photo=None, photo_sha=None, extra=None, chain=True):
        """Build record bytes chained to the station's previous one; photo: JPEG bytes."""
        rid = "%s-%010d" % (station, seq)
        rec = {"schema": "sealbench.evidence/1", "id": rid, "station": station, "seq": seq,
               "prev": self.prev.get(station, ZERO_HASH), "order_id": "SO-1001"}
        if photo is not None:
            rec["photo"] = {"sha256": photo_sha or sha256(photo), "bytes": len(photo),
                            "content_type": "image/jpeg"}
        if extra:
            rec.update(extra)
        b = json.dumps(rec, separators=(",", ":")).encode()
        if chain:
            self.prev[station] = sha256(b)
        return rid, b

    def send_record(self, station, rid, b):
        self.pub("sealbench/v1/%s/%s/evidence" % (SITE, station), b)

    def send_chunks(self, station, rid, photo, nchunks, order=None, sha=None):
        size = -(-len(photo) // nchunks)
        parts = [photo[i * size:(i + 1) * size] for i in range(nchunks)]
        props = [("sha256", sha or sha256(photo)), ("chunks", str(nchunks)),
                 ("content-type", "image/jpeg")]
        for i in (order if order is not None else range(nchunks)):
            self.pub("sealbench/v1/%s/%s/photo/%s/%d" % (SITE, station, rid, i), parts[i], props)

    def wait_ack(self, rid):
        """Wait for one more ack naming @rid than the ones already waited for."""
        want = self.ack_waited.get(rid, 0) + 1
        deadline = time.monotonic() + TIMEOUT
        while self.acked_ids().count(rid) < want:
            left = deadline - time.monotonic()
            if left <= 0 or self.acks.eof:
                raise TimeoutError("no ack #%d for %s" % (want, rid))
            self.mux.pump(left)
        self.ack_waited[rid] = want

    def acked_ids(self):
        ids = []
        for line in self.acks.lines:
            if line.startswith("sealbench/"):
                try:
                    ids += json.loads(line.split(" ", 1)[1])["ids"]
                except (IndexError, ValueError, KeyError, TypeError):
                    pass
        return ids

    def stored_line(self, rid):
        return self.mux.expect(self.sink, lambda s: s.split()[:2] == ["stored", rid])

    def close(self, keep):
        for c in [self.acks, self.sink] + self.shared + [self.broker]:
            if c:
                c.stop(signal.SIGKILL if c is not self.sink else signal.SIGTERM)
        if keep or self.failed:
            print("sink: files kept in %s (sink log: %s)" % (self.dir, self.sink_log))
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def fake_jpeg(n):
    return b"\xff\xd8\xff\xe0" + os.urandom(n) + b"\xff\xd9"


def run_tests(r):
    r.start_broker()
    r.start_sink()
    r.check("ready after SUBACK", True)
    r.start_acks()

    # 1. A record without a photo: stored, acked, bytes= its JSON length.
    rid, b = r.record("st01", 1)
    r.payloads[rid] = b
    r.send_record("st01", rid, b)
    line = r.stored_line(rid)
    r.check("record stored", line == "stored %s photo=no bytes=%d" % (rid, len(b)), line)
    r.wait_ack(rid)
    r.check("record acked", True)

    # 2. The same record again: duplicate, acked again.
    r.send_record("st01", rid, b)
    r.mux.expect(r.sink, "duplicate %s" % rid)
    r.wait_ack(rid)
    r.check("duplicate acked again", r.acked_ids().count(rid) == 2)

    # 3. Photo chunks first (in order), then the record.
    photo2 = fake_jpeg(300000)
    rid2, b2 = r.record("st01", 2, photo=photo2)
    r.payloads[rid2] = b2
    r.send_chunks("st01", rid2, photo2, 3)
    r.send_record("st01", rid2, b2)
    line = r.stored_line(rid2)
    r.check("photo-first stored", line == "stored %s photo=yes bytes=%d" % (rid2, len(b2)), line)
    r.wait_ack(rid2)
    path2 = os.path.join(r.photos, "st01", rid2 + ".jpg")
    with open(path2, "rb") as f:
        r.check("photo file has the exact bytes", f.read() == photo2)

    # 4. Record first, then chunks out of order with a duplicate chunk.
    photo3 = fake_jpeg(250000)
    rid3, b3 = r.record("st01", 3, photo=photo3)
    r.payloads[rid3] = b3
    r.send_record("st01", rid3, b3)
    r.send_chunks("st01", rid3, photo3, 4, order=[2, 0, 2, 3, 1])
    line = r.stored_line(rid3)
    r.check("record-first, chunks out of order", line.startswith("stored %s photo=yes" % rid3))
    r.wait_ack(rid3)
    with open(os.path.join(r.photos, "st01", rid3 + ".jpg"), "rb") as f:
        r.check("out-of-order photo reassembled", f.read() == photo3)

    # 5. Chunks again after completion are ignored; the record again is re-acked.
    r.send_chunks("st01", rid3, photo3, 4)
    r.send_record("st01", rid3, b3)
    r.mux.expect(r.sink, "duplicate %s" % rid3)
    r.wait_ack(rid3)
    r.check("resent photo + record acked again", r.acked_ids().count(rid3) == 2)

    # 6. Chunks whose property hash is wrong: rejected, the record waits, nothing acked.
    photo4 = fake_jpeg(120000)
    rid4, b4 = r.record("st01", 4, photo=photo4)
    r.payloads[rid4] = b4
    r.send_chunks("st01", rid4, photo4, 2, sha="ab" * 32)
    line = r.mux.expect(r.sink, "rejected %s" % rid4)
    r.check("bad chunk hash rejected", line == "rejected %s reason=photo_sha256" % rid4, line)
    mark = len(r.acks.lines)
    r.send_record("st01", rid4, b4)
    rid5, b5 = r.record("st01", 5)
    r.payloads[rid5] = b5
    r.send_record("st01", rid5, b5)  # barrier
    r.stored_line(rid5)
    r.wait_ack(rid5)
    later = " ".join(r.acks.lines[mark:])
    r.check("record with rejected photo not acked", rid4 not in later, later)
    r.check("rejected photo not stored",
            not os.path.exists(os.path.join(r.photos, "st01", rid4 + ".jpg")))
    # ... and the station's re-send of the right chunks completes it.
    r.send_chunks("st01", rid4, photo4, 2)
    line = r.stored_line(rid4)
    r.check("good re-send completes the record", line.startswith("stored %s photo=yes" % rid4))
    r.wait_ack(rid4)

    # 7. A photo that is self-consistent but not the one the record declares.
    photo6 = fake_jpeg(50000)
    rid6, b6 = r.record("st01", 6, photo=photo6, photo_sha="cd" * 32)
    r.payloads[rid6] = b6
    r.send_record("st01", rid6, b6)
    r.send_chunks("st01", rid6, photo6, 1)
    line = r.mux.expect(r.sink, "rejected %s" % rid6)
    r.check("photo not matching the record rejected",
            line == "rejected %s reason=photo_mismatch" % rid6, line)
    r.check("mismatching photo not stored",
            not os.path.exists(os.path.join(r.photos, "st01", rid6 + ".jpg")))

    # 8. Same ID, different bytes: a conflict, first copy kept, not acked.
    mark = len(r.acks.lines)
    _, evil = r.record("st01", 1, extra={"order_id": "SO-EVIL"}, chain=False)
    r.send_record("st01", rid, evil)
    line = r.mux.expect(r.sink, "rejected %s" % rid)
    r.check("conflict detected", line == "rejected %s reason=conflict" % rid, line)
    rid7, b7 = r.record("st01", 7)
    r.payloads[rid7] = b7
    r.send_record("st01", rid7, b7)  # barrier
    r.wait_ack(rid7)
    later = " ".join(r.acks.lines[mark:])
    r.check("conflict not acked", rid not in later, later)

    # 9. Garbage: not JSON, wrong station in the topic, bad chunk properties.
    r.pub("sealbench/v1/%s/st01/evidence" % SITE, b"{not json")
    line = r.mux.expect(r.sink, "rejected - ")
    r.check("bad JSON rejected", line == "rejected - reason=bad_json", line)
    _, b8 = r.record("st09", 1)
    r.pub("sealbench/v1/%s/st01/evidence" % SITE, b8)
    line = r.mux.expect(r.sink, "rejected st09-")
    r.check("station mismatch rejected", line.endswith("reason=station_mismatch"), line)
    r.pub("sealbench/v1/%s/st01/photo/st01-0000000099/0" % SITE, b"x", [("chunks", "1")])
    line = r.mux.expect(r.sink, "rejected st01-0000000099")
    r.check("chunk without sha256 rejected", line.endswith("reason=bad_chunk"), line)

    # 10. Partial cap (--max-partials 2): a third photo started drops the oldest partial;
    # the other two complete, and the dropped one completes when the station sends it again.
    photos = []
    for seq in (8, 9, 10):
        ph = fake_jpeg(40000)
        rid_, b_ = r.record("st02", seq, photo=ph)
        photos.append((rid_, ph, b_))
    for rid_, ph, _ in photos:
        r.send_chunks("st02", rid_, ph, 2, order=[0])
    for rid_, ph, b_ in photos[1:]:
        r.send_chunks("st02", rid_, ph, 2, order=[1])
        r.send_record("st02", rid_, b_)
        r.stored_line(rid_)
        r.wait_ack(rid_)
    rid_, ph, b_ = photos[0]
    r.send_record("st02", rid_, b_)
    r.send_chunks("st02", rid_, ph, 2)
    r.stored_line(rid_)
    r.wait_ack(rid_)
    stats = json.loads(r.sink_cmd("stats"))
    r.check("partial cap drops the oldest", stats.get("partials_dropped") == 1, stats)
    with open(r.sink_log, errors="replace") as f:
        r.check("partial drop logged", "dropping partial photo %s" % rid_ in f.read())
    r.check("capped photos all stored in the end", stats["stations"]["st02"]["count"] == 3)

    # 10b. A burst from one connection (mosquitto_pub -l: one message per line): every record
    # is stored and acked (acks may be batched).
    burst = [r.record("st03", seq) for seq in range(1, 101)]
    subprocess.run(["mosquitto_pub", "-V", "5", "-p", str(r.port), "-q", "1", "-t",
                    "sealbench/v1/%s/st03/evidence" % SITE, "-l"],
                   input=b"\n".join(b_ for _, b_ in burst) + b"\n", check=True, timeout=TIMEOUT,
                   stdout=subprocess.DEVNULL)
    for rid_, _ in burst:
        r.stored_line(rid_)
        r.wait_ack(rid_)
    r.check("burst of 100 records stored and acked", True)

    # 11. Order request/response with correlation data.
    def rr(body, corr):
        out = subprocess.run(["mosquitto_rr", "-V", "5", "-p", str(r.port), "-t",
                              "sealbench/v1/%s/orders/request" % SITE, "-e",
                              "sealbench/v1/%s/st01/orders/response" % SITE, "-D", "publish",
                              "correlation-data", corr, "-F", "%D|%p", "-W", "5", "-m",
                              json.dumps(body)], capture_output=True, timeout=TIMEOUT)
        r.mux.pump(0)
        return out.stdout.decode().strip()
    out = rr({"order_id": "SO-1002", "tracking": ""}, "corr-1")
    corr, _, body = out.partition("|")
    r.check("order by order_id", body and json.loads(body) == r.order_list[1], out)
    r.check("correlation data echoed", corr == "corr-1", out)
    out = rr({"order_id": "", "tracking": "1Z999AA10123456784"}, "corr-2")
    corr, _, body = out.partition("|")
    r.check("order by tracking", body and json.loads(body) == r.order_list[0], out)
    out = rr({"order_id": "SO-NOPE", "tracking": "NOPE"}, "corr-3")
    corr, _, body = out.partition("|")
    r.check("order not found", body and json.loads(body) == {"error": "not_found"} and
            corr == "corr-3", out)

    # 12. Sink restart: stops on SIGTERM, the broker keeps what arrives meanwhile.
    rc = r.sink.stop(signal.SIGTERM)
    r.check("sink exits 0 on SIGTERM", rc == 0, "status %s" % rc)
    rid11, b11 = r.record("st01", 8)
    r.payloads[rid11] = b11
    r.send_record("st01", rid11, b11)
    r.start_sink()
    line = r.stored_line(rid11)
    r.check("record sent while the sink was down arrives", line.startswith("stored " + rid11))
    r.wait_ack(rid11)

    # 13. Broker restart: the sink reconnects and subscribes again.
    r.broker.stop(signal.SIGKILL)
    r.acks.stop(signal.SIGKILL)
    r.start_broker()
    r.mux.expect(r.sink, "ready", timeout=TIMEOUT + 5)
    r.check("sink back after a broker restart", True)
    r.start_acks()
    rid12, b12 = r.record("st01", 9)
    r.payloads[rid12] = b12
    r.send_record("st01", rid12, b12)
    r.stored_line(rid12)
    r.wait_ack(rid12)
    r.check("records flow after the broker restart", True)

    # 14. stats and export.
    stats = json.loads(r.sink_cmd("stats"))
    st01 = stats["stations"]["st01"]
    r.check("stats st01 count/max_seq/gaps", (st01["count"], st01["max_seq"], st01["gaps"]) ==
            (9, 9, 0), st01)
    r.check("stats st01 chain intact", st01["chain_breaks"] == 0, st01)
    r.check("stats st02 gaps (seqs 8..10 only)", stats["stations"]["st02"]["gaps"] == 7,
            stats["stations"]["st02"])
    st03 = stats["stations"]["st03"]
    r.check("stats st03 burst", (st03["count"], st03["gaps"], st03["chain_breaks"]) ==
            (100, 0, 0), st03)
    r.check("stats counters", stats["conflicts"] == 1 and stats["duplicates"] >= 2 and
            stats["incomplete"] == 1, stats)
    lines = r.sink_cmd("export").splitlines()
    st01_lines = [ln for ln in lines if json.loads(ln)["station"] == "st01"]
    want = [r.payloads["st01-%010d" % i] for i in range(1, 10)]
    r.check("export: exact bytes in seq order", st01_lines == want)

    rc = r.sink.stop(signal.SIGINT)
    r.check("sink exits 0 on SIGINT", rc == 0, "status %s" % rc)


def run_shared(r):
    """15. Two sinks, one shared subscription, one db: the load split, nothing twice."""
    logs = []
    for name in ("sink-a", "sink-b"):
        log = os.path.join(r.dir, "%s.log" % name)
        argv = [r.sink_bin, "--host", "127.0.0.1", "--port", str(r.port), "--site", SITE,
                "--db", r.db, "--photos", r.photos, "--orders", r.orders, "--share", "central",
                "--client-id", "sink-check-" + name, "-v"]
        c = Child(r.mux, name, argv, stderr_path=log)
        r.shared.append(c)
        logs.append(log)
        r.mux.expect(c, "ready")
    r.check("two sinks subscribed to $share/central/...", True)
    # 4 chunks + 1 record per package: round robin per message spreads every photo's chunks
    # over both sinks. Half of the records come before their photo, half after.
    photos, ids = {}, []
    for seq in range(1, 13):
        photo = fake_jpeg(3000 + seq)
        rid, b = r.record("st04", seq, photo=photo)
        photos[rid], r.payloads[rid] = photo, b
        ids.append(rid)
        if seq % 2:
            r.send_record("st04", rid, b)
        r.send_chunks("st04", rid, photo, 4, order=[2, 0, 3, 1])
        if not seq % 2:
            r.send_record("st04", rid, b)
    for rid in ids:
        r.wait_ack(rid)
    r.check("shared: every record acked", True)
    # the same records again: each sink meets some of them; dedupe by ID across the processes
    for rid in ids[:4]:
        r.send_record("st04", rid, r.payloads[rid])
        r.wait_ack(rid)
    r.check("shared: duplicates acked again", True)
    rcs = [c.stop(signal.SIGTERM) for c in r.shared]
    r.check("shared: both sinks exit 0", rcs == [0, 0], rcs)
    per = [[ln.split()[1] for ln in c.lines if ln.startswith("stored st04-")] for c in r.shared]
    both = per[0] + per[1]
    r.check("shared: each record committed exactly once (duplicates = 0)",
            sorted(both) == sorted(ids), per)
    # which sink completes (and so stores) a record depends on who takes its last piece and
    # who gets the write lock first: not asserted; the split of the messages is, below
    spread = []
    for log in logs:
        with open(log, errors="replace") as f:
            spread.append({ln.split(" of ")[1].split()[0] for ln in f
                           if "shared chunk" in ln and " of st04-" in ln})
    r.check("shared: chunks of one photo reached both sinks", spread[0] & spread[1], spread)
    ok = all(open(os.path.join(r.photos, "st04", rid + ".jpg"), "rb").read() == photos[rid]
             for rid in ids)
    r.check("shared: photos on disk byte-exact", ok)
    stats = json.loads(r.sink_cmd("stats"))
    st04 = stats["stations"]["st04"]
    r.check("shared: db has each record once, chain intact",
            (st04["count"], st04["gaps"], st04["chain_breaks"]) == (12, 0, 0), st04)
    db = sqlite3.connect(r.db)
    left = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    incomplete = db.execute("SELECT count(*) FROM records WHERE station = 'st04' AND"
                            " complete = 0").fetchone()[0]
    db.close()
    r.check("shared: no chunk rows left, nothing incomplete", (left, incomplete) == (0, 0),
            (left, incomplete))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build", help="build directory holding sealbench-sink")
    ap.add_argument("--sink", help="path of the sealbench-sink binary (overrides --bin)")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    ap.add_argument("-v", "--verbose", action="store_true", help="print passing checks too")
    args = ap.parse_args()
    sink_bin = os.path.abspath(args.sink or os.path.join(args.bin, "sealbench-sink"))
    for tool in ("mosquitto", "mosquitto_pub", "mosquitto_sub", "mosquitto_rr"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            print("sink: SKIP: %s not installed" % tool)
            return 77
    os.environ["PATH"] += os.pathsep + "/usr/sbin"
    r = Rig(sink_bin, args.verbose)
    try:
        run_tests(r)
        run_shared(r)
    except (TimeoutError, subprocess.SubprocessError, OSError, ValueError, KeyError) as e:
        r.check("run to the end", False, "%s: %s" % (type(e).__name__, e))
    finally:
        r.close(args.keep)
    if r.failed:
        with open(r.sink_log, errors="replace") as f:
            print("---- sink log (tail) ----\n" + "".join(f.readlines()[-40:]))
    print("sink: %d passed, %d failed" % (r.passed, r.failed))
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
