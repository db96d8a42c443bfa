# SPDX-License-Identifier: MIT
"""sealbench_rig - start and watch a whole station on the sim board, on one machine.

Used by `make run`, `make demo` (tools/sealbench-run) and the integration tests
(tests/integration/). It runs the real parts: a private mosquitto on a free loopback port, the
central sink (sealbench-sink), the daemon (sealbenchd) on boards/sim, and the station simulator
(sealbench-sim). Nothing here sleeps to synchronise: every wait is on a process's output line
(select with a deadline), on a process exit, or on a TCP connect.

Python standard library only (Debian's python3).
"""
import json
import os
import queue
import random
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RigError(Exception):
    pass


class Proc:
    """A child process whose stdout+stderr lines are copied to a log file and queued, so
    callers can wait for a line with a deadline (no sleeps)."""

    def __init__(self, name, argv, logpath, env=None, echo=None, stdin=subprocess.DEVNULL):
        self.name = name
        self.argv = argv
        self.logpath = logpath
        self.lines = queue.Queue()
        self.echo = echo
        self.log = open(logpath, "a", buffering=1)
        self.log.write("### start: %s\n" % " ".join(argv))
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=stdin, env=env, cwd=ROOT, text=True,
                                  errors="replace", bufsize=1)
        self.t = threading.Thread(target=self._pump, daemon=True)
        self.t.start()

    def _pump(self):
        for line in self.p.stdout:
            line = line.rstrip("\n")
            self.log.write(line + "\n")
            if self.echo:
                self.echo(self.name, line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_line(self, pred, timeout):
        """Return the first queued line for which pred(line) is true; RigError on timeout or
        exit. Lines that do not match are consumed."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RigError("%s: no matching line within %.0f s (see %s)" %
                               (self.name, timeout, self.logpath))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RigError("%s exited (code %s) while waiting (see %s)" %
                               (self.name, self.p.wait(), self.logpath))
            if pred(line):
                return line

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.t.join(timeout=5)
        self.log.write("### exit: %s\n" % self.p.returncode)
        return self.p.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)


class Broker:
    """A private mosquitto on 127.0.0.1:port (port kept across restarts)."""

    def __init__(self, workdir, port=None):
        self.dir = os.path.join(workdir, "broker")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\n" % self.port)
            f.write("allow_anonymous true\n")
            f.write("persistence true\n")
            f.write("persistence_location %s/\n" % self.dir)
            f.write("autosave_interval 1\n")
            f.write("set_tcp_nodelay true\n")
            f.write("max_queued_messages 100000\n")
            f.write("log_type error\nlog_type warning\nlog_type notice\n")
            f.write("log_dest stdout\n")
        self.proc = None

    def start(self, timeout=10):
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = Proc("broker", [exe, "-c", self.conf],
                         os.path.join(self.dir, "mosquitto.log"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RigError("mosquitto exited at start (see %s)" % self.proc.logpath)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                # Not listening yet: wait for its next log line or 50 ms, whichever first.
                try:
                    self.proc.lines.get(timeout=0.05)
                except queue.Empty:
                    pass
        raise RigError("mosquitto did not listen on port %d" % self.port)

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            self.proc.stop(sig)
            self.proc = None


# ---- orders and scenarios ------------------------------------------------------------------

def ups_check_digit(body):
    """UPS 1Z check digit over the 15 characters after "1Z": letters map to (ord - 'A' + 2)
    mod 10, every second character counts double, the digit brings the sum to a multiple of
    10 (the same algorithm as src/label.c; 1Z999AA1012345678 -> 4)."""
    tot = 0
    for i, c in enumerate(body):
        v = int(c) if c.isdigit() else (ord(c) - ord("A") + 2) % 10
        tot += v * (2 if i % 2 else 1)
    return str((10 - tot % 10) % 10)


def ups_tracking(n):
    """A valid UPS 1Z tracking number: shipper SB0001, service 03 (Ground), package n."""
    body = "SB000103%07d" % (n % 10000000)
    return "1Z" + body + ups_check_digit(body)


def maxicode_label(tracking, zip9, street="1 Main St", city="Springfield", state="IL"):
    """The data of a UPS 2D label (MaxiCode / PDF417): an ISO/IEC 15434 envelope, format 01,
    written with the simulator's escapes (RS = \\x1e, GS = \\x1d, EOT = \\x04)."""
    rs, gs, eot = "\\x1e", "\\x1d", "\\x04"
    fields = ["96" + zip9, "840", "003", tracking, "UPSN", "SB0001", "321", "", "1/1", "2.5",
              "Y", street, city, state]
    return "[)>" + rs + "01" + gs + gs.join(fields) + rs + eot


def make_package(i, kind="plain"):
    """One order plus the scenario lines that pack it. kind: plain, fragile, high_value_sig,
    high_value_nosig (blocks until a lead badge), pending (central does not know it)."""
    oid = "ORD-%06d" % (100000 + i)
    trk = ups_tracking(500000 + i)
    declared = 800 + (i * 37) % 2400
    measured = declared + ((i * 13) % 60) - 30
    order = {
        "order_id": oid, "tracking": trk, "carrier": "UPS", "service": "GND",
        "signature": False, "declared_value_cents": 2500 + (i * 101) % 9000,
        "currency": "USD", "declared_weight_g": declared,
        "skus": [{"sku": "TSHIRT-%02d" % (i % 20), "qty": 1 + i % 3}],
        "address": {"name": "Customer %d" % i, "street": "%d Main St" % (i + 1),
                    "city": "Springfield", "state": "IL", "postal_code": "627%02d" % (i % 100),
                    "country": "US"},
        "flags": {"first_time_buyer": i % 4 == 0, "vip": i % 9 == 0},
        "address_validation": {"result": "pass", "failed": []},
    }
    box = "BOX-M"
    tare = 320
    if kind == "fragile":
        order["skus"].append({"sku": "MUG-%02d" % (i % 10), "qty": 1})
    elif kind == "high_value_sig":
        order["declared_value_cents"] = 125000
        order["service"] = "NDA-SIG"
        order["signature"] = True
    elif kind == "high_value_nosig":
        order["declared_value_cents"] = 89900
        order["service"] = "GND"
        order["signature"] = False
    gross = measured + tare
    lines = [
        "# package %d (%s)" % (i, kind),
        "scan %s" % oid,
        "expect-text \"%s: scan shipping label\"" % oid,
        "scan %s" % trk,
        "expect-text \"scan box\"",
        "scan %s" % box,
        "expect-text \"place package\"",
        "weigh 0 stable",
        "weigh %d motion" % (gross // 2),
        "weigh %d stable" % gross,
    ]
    if kind == "high_value_nosig":
        lines += ["expect-text BLOCKED", "expect red", "badge L-9001"]
    lines += ["expect-text Sealed", "weigh 0 stable"]
    return (order if kind != "pending" else None), lines


def demo_mix(n):
    """The package kinds for a demo of n packages: mostly plain, with fragile, high-value with
    signature, and (from the third package on) a high-value one without signature."""
    kinds = []
    for i in range(n):
        if i == 2:
            kinds.append("high_value_nosig")
        elif i % 5 == 1:
            kinds.append("fragile")
        elif i % 11 == 7:
            kinds.append("high_value_sig")
        else:
            kinds.append("plain")
    return kinds


def write_scenario(path, packages, packer="P-1001", badge_in=True):
    with open(path, "w") as f:
        if badge_in:
            f.write("badge %s\nexpect green\n" % packer)
        for lines in packages:
            f.write("\n".join(lines) + "\n")


# ---- the station ---------------------------------------------------------------------------

class Station:
    """The whole rig in one work directory: broker, sink, daemon, simulator."""

    def __init__(self, workdir, bindir, echo=None, station_conf=None, board_conf=None):
        self.dir = os.path.abspath(workdir)
        self.bin = os.path.abspath(bindir)
        self.echo = echo
        os.makedirs(self.dir, exist_ok=True)
        self.run_dir = os.path.join(self.dir, "station")
        self.data_dir = os.path.join(self.run_dir, "data")
        self.sink_db = os.path.join(self.dir, "sink", "sink.db")
        self.sink_photos = os.path.join(self.dir, "sink", "photos")
        self.orders_file = os.path.join(self.dir, "sink", "orders.json")
        os.makedirs(os.path.join(self.run_dir, "sim"), exist_ok=True)
        os.makedirs(self.sink_photos, exist_ok=True)
        self.board = board_conf or os.path.join(ROOT, "boards/sim/board.conf")
        self.conf = station_conf or os.path.join(ROOT, "boards/sim/station.conf")
        self.broker = Broker(self.dir)
        self.sink = None
        self.daemon = None
        self.orders = []
        self.stored = set()

    # orders known to central (the sink answers order requests from this file)
    def set_orders(self, orders):
        self.orders = [o for o in orders if o]
        with open(self.orders_file, "w") as f:
            json.dump(self.orders, f)

    def start_sink(self, timeout=15):
        # Central verifies every record's Ed25519 signature; the station's public key is learnt
        # from its retained status the first time (trust on first use) and kept in keys/.
        keys = os.path.join(self.dir, "sink", "keys")
        os.makedirs(keys, exist_ok=True)
        argv = [os.path.join(self.bin, "sealbench-sink"), "--host", "127.0.0.1",
                "--port", str(self.broker.port), "--site", "wh1", "--db", self.sink_db,
                "--photos", self.sink_photos, "--orders", self.orders_file,
                "--keys", keys, "--tofu"]
        self.sink = Proc("central", argv, os.path.join(self.dir, "sink.log"), echo=self._sink_echo)
        self.sink.wait_line(lambda l: l.strip() == "ready", timeout)

    def _sink_echo(self, name, line):
        if line.startswith("stored "):
            self.stored.add(line.split()[1])
        if self.echo:
            self.echo(name, line)

    def daemon_argv(self):
        return [os.path.join(self.bin, "sealbenchd"), "--board", self.board, "--config",
                self.conf, "--run-dir", self.run_dir, "--data-dir", self.data_dir,
                "--mqtt-port", str(self.broker.port)]

    def start_daemon(self, timeout=15, wait_ready=True):
        self.daemon = Proc("station", self.daemon_argv(), os.path.join(self.dir, "sealbenchd.log"),
                           echo=self.echo)
        if wait_ready:
            self.daemon.wait_line(lambda l: "ready:" in l, timeout)

    def sim_argv(self, mode, *args, verbose=False):
        argv = [os.path.join(self.bin, "sealbench-sim"), "--board", self.board, "--dir",
                self.run_dir]
        if verbose:
            argv.append("-v")
        return argv + [mode] + list(args)

    def run_scenario(self, path, timeout=600, verbose=False):
        """Run a scenario file to completion; returns the simulator's exit code."""
        p = Proc("packer", self.sim_argv("scenario", path, verbose=verbose),
                 os.path.join(self.dir, "sim.log"), echo=self.echo if verbose else None)
        try:
            p.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            raise RigError("simulator did not finish within %d s" % timeout)
        return p.stop()

    def station_records(self):
        """(id, json, photo_sha256) of every record in the station's outbox, in seq order."""
        path = os.path.join(self.data_dir, "outbox.db")
        con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        try:
            return [(r[0], r[1], r[2] or "") for r in
                    con.execute("SELECT id, json, photo_sha256 FROM records ORDER BY seq")]
        finally:
            con.close()

    def sink_records(self):
        con = sqlite3.connect("file:%s?mode=ro" % self.sink_db, uri=True)
        try:
            return {r[0]: (r[1], r[2] or "", r[3] or "", r[4]) for r in con.execute(
                "SELECT id, json, photo_sha256, photo_path, complete FROM records")}
        finally:
            con.close()

    def wait_delivered(self, ids, timeout=120):
        """Wait until the sink has stored every id (watching its output lines)."""
        want = set(ids)
        deadline = time.monotonic() + timeout
        while not want <= self.stored:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                line = self.sink.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise RigError("sink exited")
        return want - self.stored

    def verify(self):
        """Compare station and sink: every sealed record at the sink byte-exact, every photo
        present with the right SHA-256. Returns (sealed, delivered, problems)."""
        import hashlib
        station = self.station_records()
        sink = self.sink_records()
        problems = []
        delivered = 0
        for rid, js, photo_sha in station:
            got = sink.get(rid)
            if not got:
                problems.append("%s: missing at the sink" % rid)
                continue
            sjson, sphoto_sha, spath, complete = got
            if sjson != js:
                problems.append("%s: record bytes differ at the sink" % rid)
                continue
            if photo_sha:
                if sphoto_sha != photo_sha or not spath or not os.path.exists(spath):
                    problems.append("%s: photo missing or wrong hash at the sink" % rid)
                    continue
                with open(spath, "rb") as f:
                    if hashlib.sha256(f.read()).hexdigest() != photo_sha:
                        problems.append("%s: photo file does not match its SHA-256" % rid)
                        continue
            if not complete:
                problems.append("%s: incomplete at the sink" % rid)
                continue
            delivered += 1
        extra = set(sink) - {r[0] for r in station}
        for rid in sorted(extra):
            problems.append("%s: at the sink but not in the station's outbox" % rid)
        return len(station), delivered, problems

    def stop(self):
        if self.daemon:
            self.daemon.stop()
        if self.sink:
            self.sink.stop()
        self.broker.stop()
