# SPDX-License-Identifier: MIT
"""make bench / make bench-short: the pipeline against its own primitives, in the same run.

In-process figures (capture-to-durable, growth, start-up) come from tests/bench/bench.c; the
daemon figures (delivery, idle, memory, sink ingest) from the real parts on the sim board,
started with tools/sealbench_rig.py (private mosquitto on a free loopback port, sealbench-sink,
sealbenchd). Nothing waits by sleeping: waits are on process output lines with deadlines; the
idle window is a deadline on the daemon's output queue.

Writes the markdown table to OUT/<date>-<host>.md and prints it. Asserts no timings: the exit
status is 0 when every figure was measured, whatever the PASS/MISS column says.
"""
import argparse
import datetime
import os
import queue
import re
import shutil
import socket
import sqlite3
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import sealbench_rig as rig  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")

FULL = dict(runs=300, seal_rounds=5, growth=[0, 10000, 50000], growth_runs=100, backlog=2000,
            photo_kb=300, packages=20, idle_s=30, settle_s=3, settle_max_s=30,
            callgrind_runs=5, shared_backlog=1000, delivery_rounds=3)
SHORT = dict(runs=10, seal_rounds=1, growth=[0, 20, 50], growth_runs=5, backlog=20, photo_kb=300,
             packages=2, idle_s=2, settle_s=0.5, settle_max_s=5, callgrind_runs=0,
             shared_backlog=20, delivery_rounds=1)


def run_bench(bench, *args):
    """Run the C driver; return its result lines as {first word: {key: value}}."""
    import subprocess
    p = subprocess.run([bench] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=3600)
    if p.returncode != 0:
        raise rig.RigError("%s %s: %s" % (bench, " ".join(args), p.stderr.strip()))
    out = {}
    for line in p.stdout.splitlines():
        words = line.split()
        if words:
            out[words[0]] = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    return out


def proc_cpu_s(pid):
    """utime + stime of a process, seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status(pid):
    vals = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            vals[k] = v.split()[0] if v.split() else ""
    return vals


def kb(pid, key):
    return int(proc_status(pid)[key])


def station_files(work, width, height, fmt):
    """A board file at 1080p in the wanted format and a station.conf copy."""
    board = os.path.join(work, "board.conf")
    with open(os.path.join(ROOT, "boards/sim/board.conf")) as f:
        src = f.read()
    src = re.sub(r"camera\.format = \w+", "camera.format = %s" % fmt, src)
    src = re.sub(r"camera\.width = \d+", "camera.width = %d" % width, src)
    src = re.sub(r"camera\.height = \d+", "camera.height = %d" % height, src)
    with open(board, "w") as f:
        f.write(src)
    return board


def switches(pid):
    """Voluntary and involuntary context switches summed over the process's threads."""
    vol = nvol = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        nvol += int(line.split()[1])
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return vol, nvol


def rss_split(pid):
    """VmRSS split into anonymous (heap, buffers), file-backed (code, libraries) and shmem."""
    st = proc_status(pid)
    return "RSS %.1f MB = anon %.1f + file %.1f + shmem %.1f MB" % tuple(
        int(st[k]) / 1024 for k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"))


def settle(proc, quiet_s, max_s):
    """Wait on the process's output until it has been quiet for quiet_s (at most max_s):
    start-up work (connect, status, first checks) is over. Returns the lines seen."""
    n = 0
    end = time.monotonic() + max_s
    while time.monotonic() < end:
        try:
            if proc.lines.get(timeout=min(quiet_s, max(0.0, end - time.monotonic()))) is None:
                raise rig.RigError("daemon exited while settling")
            n += 1
        except queue.Empty:
            return n
    return n


def ratio(a, b):
    return a / b if b else float("inf")


class Table:
    def __init__(self):
        self.rows = []

    def add(self, figure, value, baseline, r, budget, ok):
        self.rows.append((figure, value, baseline, "" if r is None else "%.2f" % r, budget,
                          "" if ok is None else ("PASS" if ok else "MISS")))

    def markdown(self):
        head = ("figure", "measured", "baseline (same run)", "ratio", "budget", "")
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in self.rows:
            lines.append("| " + " | ".join(row) + " |")
        return "\n".join(lines)


def discard(args, d):
    """A phase's directory, once its figures are read: removed (unless --keep), so a run needs
    the disk space of its largest phase (the delivery: backlog, sink copy, WALs), not of all of
    them together."""
    if not args.keep:
        shutil.rmtree(d, ignore_errors=True)


def ms(us):
    return "%.2f ms" % (float(us) / 1000)


def capture_to_durable(args, cfg, work, table, notes):
    """Rounds of `bench seal`, each in a fresh directory (its own files, its own place on the
    disk): one round's MJPEG p50 ratio moved between 1.14x and 1.29x from run to run on the
    CI-like VM for the same code, when the baseline still worked on the pipeline's frame, and
    1.05x-1.10x after (one fsync is most of that row's time). The table gives the round with
    the median p50 ratio; the notes list every round's."""
    for fmt in ("yuyv", "mjpeg"):
        rounds = []
        for k in range(cfg["seal_rounds"]):
            d = os.path.join(work, "seal-%s-%d" % (fmt, k))
            os.makedirs(d)
            res = run_bench(args.bench, "seal", "--dir", d, "--format", fmt,
                            "--runs", str(cfg["runs"]))
            discard(args, d)
            s = res["seal"]
            rounds.append((ratio(int(s["pipe_p50_us"]), int(s["base_p50_us"])), res))
        order = sorted(rounds, key=lambda x: x[0])
        res = order[len(order) // 2][1]
        s, st = res["seal"], res["stages"]
        p50, p99 = int(s["pipe_p50_us"]), int(s["pipe_p99_us"])
        b50, b99 = int(s["base_p50_us"]), int(s["base_p99_us"])
        name = "capture-to-durable 1080p %s (%s)" % (
            fmt.upper(), "encode" if fmt == "yuyv" else "pass-through")
        table.add(name + " p50", ms(p50), ms(b50), ratio(p50, b50), "<= 1.15x",
                  ratio(p50, b50) <= 1.15)
        table.add(name + " p99", ms(p99), ms(b99), ratio(p99, b99), "<= 1.5x",
                  ratio(p99, b99) <= 1.5)
        notes.append("%s: %d x %s runs, p50 ratio by round %s (p99 %s); the median "
                     "round: photo %s bytes; stage means: %s; outbox_put p50/p99 %s/%s us "
                     "vs the baseline's commit %s/%s us" % (
                         fmt, len(rounds), s["runs"],
                         " ".join("%.2f" % r for r, _ in rounds),
                         " ".join("%.2f" % ratio(int(x["seal"]["pipe_p99_us"]),
                                                 int(x["seal"]["base_p99_us"]))
                                  for _, x in rounds),
                         s["photo_bytes"],
                         ", ".join("%s %s us" % (k[:-8], v) for k, v in st.items()
                                   if k.endswith("_mean_us")),
                         st.get("put_p50_us"), st.get("put_p99_us"),
                         st.get("base_commit_p50_us"), st.get("base_commit_p99_us")))


BENCH_WARMUP = 5  # bench.c's BENCH_WARMUP: packages before the timed ones


def callgrind_instr(args, work, fmt, runs, func):
    """Instructions callgrind counts inside func (a --toggle-collect pattern) over one
    `bench seal` run, divided by the packages sealed."""
    import subprocess
    d = tempfile.mkdtemp(prefix="cg-%s-" % fmt, dir=work)
    out = os.path.join(d, "callgrind.out")
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                        "--toggle-collect=" + func, args.bench, "seal", "--dir", d,
                        "--format", fmt, "--runs", str(runs)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=1800)
    discard(args, d)
    m = re.search(r"Collected : (\d+)", p.stderr)
    if p.returncode != 0 or not m:
        raise rig.RigError("callgrind %s %s: %s" % (fmt, func, p.stderr[-500:]))
    if int(m.group(1)) == 0:
        raise rig.RigError("callgrind %s: nothing collected in %s (inlined, or renamed?)" % (
            fmt, func))
    return int(m.group(1)) / (runs + BENCH_WARMUP)


def callgrind(args, cfg, work, table, notes):
    """Instructions per package: the class's part of the camera path (encode or probe), the
    seal (checks, SHA-256, record, signature, outbox_put), and the baseline's primitives."""
    if not shutil.which("valgrind"):
        notes.append("callgrind: valgrind not installed, instruction counts skipped")
        return
    runs = cfg["callgrind_runs"]
    for fmt, cam in (("yuyv", "hal_jpeg_encode_yuyv"), ("mjpeg", "hal_jpeg_probe")):
        cam_i = callgrind_instr(args, work, fmt, runs, cam)
        seal_i = callgrind_instr(args, work, fmt, runs, "seal_package")
        base_i = callgrind_instr(args, work, fmt, runs, "baseline_run*")
        table.add("callgrind: instructions per package, 1080p %s capture path" % fmt.upper(),
                  "%.2f M" % ((cam_i + seal_i) / 1e6), "%.2f M" % (base_i / 1e6),
                  ratio(cam_i + seal_i, base_i), "", None)
        notes.append("callgrind %s: %s %.2f M + seal_package %.2f M instructions per package "
                     "(%d packages)" % (fmt, cam, cam_i / 1e6, seal_i / 1e6,
                                         runs + BENCH_WARMUP))


def growth(args, cfg, work, table, notes):
    p50 = {}
    for n in cfg["growth"]:
        d = os.path.join(work, "growth-%d" % n)
        os.makedirs(d)
        res = run_bench(args.bench, "seal", "--dir", d, "--format", "yuyv", "--preload",
                        str(n), "--runs", str(cfg["growth_runs"]))
        discard(args, d)
        s = res["seal"]
        p50[n] = (int(s["pipe_p50_us"]), int(s["base_p50_us"]))
        table.add("start-up (outbox_open) at %d unacked" % int(s["unacked_at_start"]),
                  ms(s["open_us"]), "", None, "<= 100 ms",
                  int(s["open_us"]) <= 100000 if n == cfg["growth"][-1] else None)
    lo, hi = cfg["growth"][0], cfg["growth"][-1]
    for n in cfg["growth"][1:]:
        table.add("capture-to-durable p50 at %d unacked" % n, ms(p50[n][0]),
                  ms(p50[lo][0]) + " (at %d)" % lo, ratio(p50[n][0], p50[lo][0]),
                  "<= 1.2x" if n == hi else "", ratio(p50[n][0], p50[lo][0]) <= 1.2
                  if n == hi else None)
    notes.append("growth: same-run primitive p50 at each level: %s" % ", ".join(
        "%d: %s" % (n, ms(p50[n][1])) for n in cfg["growth"]))


def daemon_phases(args, cfg, work, table, notes):
    """Memory during packages (1) and a backlog drain (2), delivery vs the bare publish loop,
    sink ingest, then idle."""
    st = rig.Station(os.path.join(work, "station"), args.bin)
    st.board = station_files(st.dir, 1920, 1080, "yuyv")
    try:
        st.broker.start()
        # (1) packages through the daemon at 1080p, for the daemon's memory while sealing
        orders, scn = [], []
        for i in range(cfg["packages"]):
            o, lines = rig.make_package(i, "fragile")
            orders.append(o)
            scn.append(lines)
        st.set_orders(orders)
        st.start_sink()
        st.start_daemon()
        pid = st.daemon.p.pid
        path = os.path.join(st.dir, "packages.scn")
        rig.write_scenario(path, scn)
        if st.run_scenario(path, timeout=600) != 0:
            raise rig.RigError("package scenario failed (see %s/sim.log)" % st.dir)
        hwm1, rss1 = kb(pid, "VmHWM"), kb(pid, "VmRSS")
        notes.append("memory after sealing: %s" % rss_split(pid))
        st.daemon.stop()
        st.daemon = None

        # (2) a backlog of sealed packages with photos, in the daemon's own outbox
        res = run_bench(args.bench, "fill", "--dir", st.data_dir, "--records",
                        str(cfg["backlog"]), "--photo-kb", str(cfg["photo_kb"]))
        notes.append("backlog: %s records, %s bytes, written in %s s" % (
            res["fill"]["records"], res["fill"]["bytes"], res["fill"]["seconds"]))
        os.sync()  # the backlog on disk first: no writeback of it in a timed run
        # baseline: the bare libmosquitto QoS 1 loop over the same messages, same window
        base = run_bench(args.bench, "publoop", "--dir", st.data_dir, "--port",
                         str(st.broker.port), "--inflight", "16", "--chunk", "65536",
                         "--site", "benchbase")["publoop"]
        base_bps = int(base["bytes"]) / float(base["seconds"])

        ids = ["st01-%010d" % s for s, _ in enumerate(st.station_records(), start=1)]
        want = set(ids) - st.stored
        sink_pid = st.sink.p.pid
        broker_pid = st.broker.proc.p.pid
        sink_cpu0, broker_cpu0 = proc_cpu_s(sink_pid), proc_cpu_s(broker_pid)
        t0 = time.monotonic()
        st.start_daemon(wait_ready=False)
        pid = st.daemon.p.pid
        missing = st.wait_delivered(want, timeout=900)
        secs = time.monotonic() - t0
        sink_cpu = proc_cpu_s(sink_pid) - sink_cpu0
        broker_cpu = proc_cpu_s(broker_pid) - broker_cpu0
        daemon_cpu = proc_cpu_s(pid)
        if missing:
            raise rig.RigError("backlog not delivered: %d missing" % len(missing))
        hwm2 = kb(pid, "VmHWM")
        bytes_ = int(base["bytes"])
        bps = bytes_ / secs
        table.add("delivery: %d-package backlog to the sink, acked" % len(want),
                  "%.1f MB/s (%.2f s)" % (bps / 1e6, secs),
                  "%.1f MB/s (%s s, bare QoS 1 loop)" % (base_bps / 1e6, base["seconds"]),
                  ratio(bps, base_bps), ">= 0.85x", ratio(bps, base_bps) >= 0.85)
        rate = len(want) / sink_cpu if sink_cpu > 0 else float("inf")
        table.add("sink ingest (verify + commit + ack), records per sink CPU-second",
                  "%.0f rec/s" % rate, "", None, "", None)
        table.add("sink: stations at 1 package / 10 s per sink core", "%.0f" % (rate * 10),
                  "", None, ">= 500", rate * 10 >= 500)
        notes.append("delivery wall time includes daemon start-up and connect; the sink's "
                     "wall rate was %.0f rec/s; the baseline loop has a QoS 1 subscriber that "
                     "drains every message (%s received)" % (len(want) / secs,
                                                            base.get("received", "?")))
        notes.append("delivery CPU per record: daemon %.2f ms, broker %.2f ms, sink %.2f ms "
                     "(%.1f s of CPU in %.1f s wall on %d cores)" % (
                         1e3 * daemon_cpu / len(want), 1e3 * broker_cpu / len(want),
                         1e3 * sink_cpu / len(want), daemon_cpu + broker_cpu + sink_cpu, secs,
                         os.cpu_count()))

        rss_steady = kb(pid, "VmRSS")
        notes.append("memory after the drain: %s" % rss_split(pid))
        # (4) idle: a fresh daemon on the drained outbox, all sim devices open, nothing to do.
        # (Right after the drain the window would still hold central's last acks and the
        # status updates they cause.)
        st.daemon.stop()
        st.start_daemon()
        pid = st.daemon.p.pid
        settle_lines = settle(st.daemon, cfg["settle_s"], cfg["settle_max_s"])
        cpu0 = proc_cpu_s(pid)
        sw0, nsw0 = switches(pid)
        deadline = time.monotonic() + cfg["idle_s"]
        chatter = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                if st.daemon.lines.get(timeout=left) is None:
                    raise rig.RigError("daemon exited while idle")
                chatter += 1
            except queue.Empty:
                pass
        cpu = proc_cpu_s(pid) - cpu0
        sw1, nsw1 = switches(pid)
        sw, nsw = sw1 - sw0, nsw1 - nsw0
        idle = cfg["idle_s"]
        table.add("idle: wake-ups per second (%d s)" % idle, "%.2f" % (sw / idle), "", None,
                  "<= 2", sw / idle <= 2)
        table.add("idle: CPU, %% of a core (%d s)" % idle, "%.3f%%" % (100 * cpu / idle), "",
                  None, "<= 0.1%", 100 * cpu / idle <= 0.1)
        notes.append("idle: measured after the daemon's output had been quiet for %g s (%d "
                     "start-up lines); %d voluntary + %d involuntary switches (all threads), "
                     "%.2f s CPU, %d log lines in the window" % (
                         cfg["settle_s"], settle_lines, sw, nsw, cpu, chatter))
        table.add("memory: peak RSS (VmHWM) sealing %d packages at 1080p" % cfg["packages"],
                  "%.1f MB" % (hwm1 / 1024), "", None, "<= 24 MB", hwm1 <= 24 * 1024)
        table.add("memory: peak RSS (VmHWM) draining the backlog", "%.1f MB" % (hwm2 / 1024),
                  "", None, "<= 24 MB", hwm2 <= 24 * 1024)
        table.add("memory: steady RSS (VmRSS) after sealing / after the drain",
                  "%.1f / %.1f MB" % (rss1 / 1024, rss_steady / 1024), "", None, "<= 8 MB",
                  max(rss1, rss_steady) <= 8 * 1024)
        floor_dir = os.path.join(work, "floor")
        os.makedirs(floor_dir, exist_ok=True)
        fl = run_bench(args.bench, "floor", "--dir", floor_dir)["floor"]
        discard(args, floor_dir)
        table.add("memory: RSS floor, a process that links the same libraries and uses each "
                  "once (same run)", "%.1f MB (anon %.1f + file %.1f)" % (
                      int(fl["rss_kb"]) / 1024, int(fl["anon_kb"]) / 1024,
                      int(fl["file_kb"]) / 1024), "", None, "", None)
    finally:
        st.stop()
        st.broker.stop()
        discard(args, st.dir)


def station_delivery_round(args, cfg, d):
    """One round of the station-side row in a fresh station (own broker, own backlog in
    directory d): the bare loop, the loop that reads each record out of the outbox as it
    publishes it (`publoop --read`), then the daemon into the null central, on the same
    backlog and broker. Returns the figures of all three."""
    st = rig.Station(d, args.bin)
    st.board = station_files(st.dir, 1920, 1080, "yuyv")
    central = None
    try:
        st.broker.start()
        res = run_bench(args.bench, "fill", "--dir", st.data_dir, "--records",
                        str(cfg["backlog"]), "--photo-kb", str(cfg["photo_kb"]))
        n = int(res["fill"]["records"])
        # The backlog's 600 MB on disk first: no writeback of it in a timed run.
        os.sync()
        broker_pid = st.broker.proc.p.pid
        b0 = proc_cpu_s(broker_pid)
        base = run_bench(args.bench, "publoop", "--dir", st.data_dir, "--port",
                         str(st.broker.port), "--inflight", "16", "--chunk", "65536",
                         "--site", "benchbase")["publoop"]
        base_broker_cpu = proc_cpu_s(broker_pid) - b0
        b0 = proc_cpu_s(broker_pid)
        rd = run_bench(args.bench, "publoop", "--dir", st.data_dir, "--port",
                       str(st.broker.port), "--inflight", "16", "--chunk", "65536",
                       "--site", "benchread", "--read")["publoop"]
        rd_broker_cpu = proc_cpu_s(broker_pid) - b0
        if rd["bytes"] != base["bytes"] or rd["messages"] != base["messages"]:
            raise RuntimeError("publoop --read sent %s bytes in %s messages, the bare loop "
                               "%s in %s" % (rd["bytes"], rd["messages"], base["bytes"],
                                             base["messages"]))
        central = rig.Proc("central", [args.bench, "central", "--dir", st.data_dir, "--port",
                                       str(st.broker.port), "--records", str(n)],
                           os.path.join(st.dir, "central.log"))
        central.wait_line(lambda l: l.strip() == "ready", 30)
        c0, b0 = proc_cpu_s(central.p.pid), proc_cpu_s(broker_pid)
        t0 = time.monotonic()
        st.start_daemon(wait_ready=False)
        pid = st.daemon.p.pid
        line = central.wait_line(lambda l: l.startswith("central "), 900)
        secs = time.monotonic() - t0
        r = dict(n=n, secs=secs, base=base, base_broker_cpu=base_broker_cpu,
                 daemon_cpu=proc_cpu_s(pid), central_cpu=proc_cpu_s(central.p.pid) - c0,
                 broker_cpu=proc_cpu_s(broker_pid) - b0,
                 got=dict(w.split("=", 1) for w in line.split()[1:] if "=" in w))
        # Both sides timed at the consumer, first message to last: the station's span leaves
        # out the daemon's start-up (its own row) as the loop's leaves out its set-up.
        r["span"] = float(r["got"]["seconds"])
        r["bps"] = int(base["bytes"]) / r["span"]
        r["base_bps"] = int(base["bytes"]) / float(base["span"])
        r["ratio"] = ratio(r["bps"], r["base_bps"])
        r["loop_cpu"] = float(base.get("cpu", "nan"))
        r["cpu_ratio"] = (r["loop_cpu"] + base_broker_cpu) / max(
            r["daemon_cpu"] + r["broker_cpu"] + r["central_cpu"], 1e-9)
        r["read"] = rd
        r["read_bps"] = int(rd["bytes"]) / float(rd["span"])
        r["read_ratio"] = ratio(r["bps"], r["read_bps"])
        r["read_cpu"] = float(rd.get("cpu", "nan")) + rd_broker_cpu
        return r
    finally:
        if central:
            central.stop()
        st.stop()
        st.broker.stop()
        discard(args, d)  # one station-side backlog at a time


def station_delivery(args, cfg, work, table, notes):
    """Delivery, the station's side: the same backlog drained by sealbenchd into a null central
    (`bench central`: acks the records of each read burst in one message, as sealbench-sink
    does, with no verification and no storage), against the bare QoS 1 loop of the same
    messages on the same broker, and (a row without a budget) against that loop reading each
    record out of the outbox as it publishes it, the read that the bare loop leaves out and a
    store-and-forward queue cannot. Rounds, each with its own backlog and broker: one round's
    ratio moved between 0.55x and 0.92x for the same code on the 2-core VM, with both sides'
    wall times moving (the loop 0.61-0.93 s, the station 0.9-1.25 s). The table gives the
    round with the median ratio; the notes list every round's and both sides' CPU per
    record."""
    rounds = [station_delivery_round(args, cfg, os.path.join(work, "station-null-%d" % k))
              for k in range(cfg["delivery_rounds"])]
    r = sorted(rounds, key=lambda x: x["ratio"])[len(rounds) // 2]
    n, base = r["n"], r["base"]
    table.add("delivery, station side: %d-package backlog into a null central (acks per read "
              "burst)" % n, "%.1f MB/s (%.3f s)" % (r["bps"] / 1e6, r["span"]),
              "%.1f MB/s (%s s, bare QoS 1 loop)" % (r["base_bps"] / 1e6, base["span"]),
              r["ratio"], ">= 0.85x", r["ratio"] >= 0.85)
    # The same station against the loop that pays the read a store-and-forward queue must
    # do (no budget: what the bare loop's budget leaves out, measured in the same rounds).
    rr = sorted(rounds, key=lambda x: x["read_ratio"])[len(rounds) // 2]
    table.add("delivery, station side, against a loop that reads each record out of the "
              "outbox as it publishes it (`publoop --read`)",
              "%.1f MB/s (%.3f s)" % (rr["bps"] / 1e6, rr["span"]),
              "%.1f MB/s (%s s, QoS 1 loop + outbox read)" % (rr["read_bps"] / 1e6,
                                                               rr["read"]["span"]),
              rr["read_ratio"], "", None)
    notes.append("loop + outbox read (`publoop --read`): ratio by round %s (station / loop + "
                 "read seconds %s); the read loop against the bare loop: wall %s, CPU per "
                 "record (clients + broker) %s ms against %s ms" % (
                     " ".join("%.2f" % x["read_ratio"] for x in rounds),
                     " ".join("%.2f/%.2f" % (x["span"], float(x["read"]["span"]))
                              for x in rounds),
                     " ".join("%.2f" % ratio(x["read_bps"], x["base_bps"]) for x in rounds),
                     " ".join("%.2f" % (1e3 * x["read_cpu"] / x["n"]) for x in rounds),
                     " ".join("%.2f" % (1e3 * (x["loop_cpu"] + x["base_broker_cpu"]) / x["n"])
                              for x in rounds)))
    notes.append("station-side delivery: %d rounds, ratio by round %s (station / loop "
                 "seconds %s, each at its consumer from the first message to the last; CPU "
                 "ratio %s); from the daemon's start, which the table leaves out (start-up "
                 "has its own row), the station took %s s (ratio %s); in the median round the "
                 "central saw %s records, %.0f MB" % (
                     len(rounds), " ".join("%.2f" % x["ratio"] for x in rounds),
                     " ".join("%.3f/%.3f" % (x["span"], float(x["base"]["span"]))
                              for x in rounds),
                     " ".join("%.2f" % x["cpu_ratio"] for x in rounds),
                     " ".join("%.3f" % x["secs"] for x in rounds),
                     " ".join("%.2f" % ratio(int(x["base"]["bytes"]) / x["secs"], x["base_bps"])
                              for x in rounds),
                     r["got"].get("records", "?"), int(r["got"].get("bytes", 0)) / 1e6))
    # Both runs keep the cores busy, so wall time follows CPU: where the extra CPU goes.
    notes.append("station-side CPU per record (median round): daemon %.2f + broker %.2f + null "
                 "central %.2f = %.2f ms; the loop: its two clients %.2f + broker %.2f = %.2f "
                 "ms (%.2fx)" % (
                     1e3 * r["daemon_cpu"] / n, 1e3 * r["broker_cpu"] / n,
                     1e3 * r["central_cpu"] / n,
                     1e3 * (r["daemon_cpu"] + r["broker_cpu"] + r["central_cpu"]) / n,
                     1e3 * r["loop_cpu"] / n, 1e3 * r["base_broker_cpu"] / n,
                     1e3 * (r["loop_cpu"] + r["base_broker_cpu"]) / n, r["cpu_ratio"]))


def shared_sinks(args, cfg, work, table, notes):
    """Two sinks on one MQTT 5 shared subscription and one db drain a backlog: records
    committed by each, and duplicates (an ID committed by both, or twice) must be 0."""
    st = rig.Station(os.path.join(work, "shared"), args.bin)
    events = queue.Queue()
    stored = {"a": [], "b": []}

    def echo(name, line):
        if line.startswith("stored "):
            stored[name[-1]].append(line.split()[1])
            events.put(line)

    sinks = []
    try:
        st.broker.start()
        st.set_orders([])
        keys = os.path.join(st.dir, "sink", "keys")
        os.makedirs(keys, exist_ok=True)
        for name in ("a", "b"):
            argv = [os.path.join(st.bin, "sealbench-sink"), "--host", "127.0.0.1", "--port",
                    str(st.broker.port), "--site", "wh1", "--db", st.sink_db, "--photos",
                    st.sink_photos, "--orders", st.orders_file, "--keys", keys, "--tofu",
                    "--share", "central", "--client-id", "bench-sink-" + name]
            p = rig.Proc("central-" + name, argv, os.path.join(st.dir, "sink-%s.log" % name),
                         echo=echo)
            sinks.append(p)
            p.wait_line(lambda l: l.strip() == "ready", 15)
        res = run_bench(args.bench, "fill", "--dir", st.data_dir, "--records",
                        str(cfg["shared_backlog"]), "--photo-kb", str(cfg["photo_kb"]))
        n = int(res["fill"]["records"])
        want = {"st01-%010d" % i for i in range(1, n + 1)}
        cpu0 = [proc_cpu_s(p.p.pid) for p in sinks]
        t0 = time.monotonic()
        st.start_daemon(wait_ready=False)
        deadline = t0 + 900
        while not want <= set(stored["a"]) | set(stored["b"]):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                events.get(timeout=left)
            except queue.Empty:
                break
        secs = time.monotonic() - t0
        cpu = [proc_cpu_s(p.p.pid) - c for p, c in zip(sinks, cpu0)]
        st.daemon.stop()
        st.daemon = None
        for p in sinks:
            p.stop()
        a, b = stored["a"], stored["b"]
        missing = want - set(a) - set(b)
        dups = len(a) + len(b) - len(set(a) | set(b))
        con = sqlite3.connect(st.sink_db)
        try:
            rows = con.execute("SELECT count(*), count(DISTINCT id), sum(complete) FROM records"
                               ).fetchone()
            chunks_left = con.execute("SELECT count(*) FROM chunks").fetchone()[0]
        finally:
            con.close()
        # The broker splits messages, not records: with 6 messages per package (5 chunks +
        # the evidence) and strict round robin, which sink commits a record depends on the
        # parity of everything else it delivered, so the split is judged by the work (CPU).
        share = min(cpu) / sum(cpu) if sum(cpu) > 0 else 0.0
        ok = bool(not missing and dups == 0 and rows[0] == rows[1] == rows[2] == n and
                  share >= 0.25)
        table.add("two sinks on a shared subscription: records committed by each, "
                  "CPU share of the smaller, duplicates = 0",
                  "%d + %d, %.0f%%, duplicates %d, missing %d" % (
                      len(a), len(b), 100 * share, dups, len(missing)), "", None,
                  "split (>= 25%), 0 duplicates", ok)
        notes.append("shared subscription: %d-package backlog drained by two sinks "
                     "(--share central, one db) in %.2f s (%.0f rec/s wall); sink CPU %.2f + "
                     "%.2f s; db: %d rows, %d distinct, %d complete, %d chunk rows left; "
                     "photo chunks meet in the db (mosquitto hands each message of a shared "
                     "subscription to one member, round robin)" % (
                         n, secs, n / secs, cpu[0], cpu[1], rows[0], rows[1], rows[2] or 0,
                         chunks_left))
    finally:
        for p in sinks:
            p.stop()
        st.stop()
        st.broker.stop()
        discard(args, st.dir)


# Filesystems and disks that keep their data in RAM: fsync costs nothing there, so the
# capture rows would time memory, not the storage a station seals to.
RAM_FS = ("tmpfs", "ramfs")
RAM_DISKS = ("zram", "ram")


def unescape_mountinfo(field):
    """/proc/self/mountinfo writes space, tab, newline and backslash as \\ooo."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def read_sys(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def storage_of(path):
    """What @path lives on: dict(fstype, source, mount, disk, ram, text). disk and the text's
    parenthesis come from /sys for a block device (its driver, model or card name, write
    cache), so a board's SD card and a VM's virtio disk read differently in the header."""
    path = os.path.realpath(path)
    best = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            a = line.split()
            sep = a.index("-")
            mnt = unescape_mountinfo(a[4])
            inside = path == mnt or path.startswith(mnt.rstrip("/") + "/")
            # The longest mount point wins; of equal ones the last (it is mounted on top).
            if inside and (best is None or len(mnt) >= len(best["mount"])):
                best = dict(mount=mnt, devno=a[2], fstype=a[sep + 1],
                            source=unescape_mountinfo(a[sep + 2]))
    if best is None:
        raise rig.RigError("%s: no mount in /proc/self/mountinfo holds it" % path)
    best["disk"], parts = "", []
    sysdev = "/sys/dev/block/%s" % best["devno"]
    if os.path.exists(sysdev):
        dev = os.path.realpath(sysdev)
        if os.path.exists(os.path.join(dev, "partition")):
            dev = os.path.dirname(dev)
        best["disk"] = os.path.basename(dev)
        driver = os.path.basename(os.path.realpath(os.path.join(dev, "device", "driver"))) \
            if os.path.exists(os.path.join(dev, "device", "driver")) else ""
        kind = read_sys(os.path.join(dev, "device", "type"))  # mmc: SD, MMC, SDIO
        name = read_sys(os.path.join(dev, "device", "model")) or \
            read_sys(os.path.join(dev, "device", "name"))
        if kind in ("SD", "MMC"):
            parts.append("%s card%s" % (kind, " '%s'" % name if name else ""))
        elif name:
            parts.append("'%s'" % name)
        if driver:
            parts.append(driver)
        cache = read_sys(os.path.join(dev, "queue", "write_cache"))
        if cache:
            parts.append("write cache: " + cache)
    best["ram"] = best["fstype"] in RAM_FS or best["disk"].startswith(RAM_DISKS)
    best["text"] = "%s on %s%s, mounted at %s" % (
        best["fstype"], best["source"],
        " (disk %s: %s)" % (best["disk"], ", ".join(parts)) if best["disk"] and parts
        else " (disk %s)" % best["disk"] if best["disk"] else "", best["mount"])
    return best


def git_revision():
    """The tree's short revision, saying so when tracked files differ from it (a scratch
    run's figures are not that revision's)."""
    import subprocess

    def git(*a):
        p = subprocess.run(["git", "-C", ROOT] + list(a), stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        return p.stdout.strip() if p.returncode == 0 else None
    rev = git("rev-parse", "--short", "HEAD")
    if rev is None:
        return "unknown (not a git checkout)"
    if git("status", "--porcelain", "--untracked-files=no"):
        rev += " with uncommitted changes"
    return rev


def machine_text():
    """CPU model (or the board's model on ARM), memory and kernel, for the results header."""
    model = ""
    cpuinfo = read_sys("/proc/cpuinfo")
    for key in ("Model", "model name", "Hardware"):
        m = re.search(r"^%s\s*:\s*(.+)$" % key, cpuinfo, re.M)
        if m:
            model = m.group(1).strip()
            break
    m = re.search(r"^MemTotal:\s+(\d+) kB", read_sys("/proc/meminfo"), re.M)
    mem = "%.1f GB RAM" % (int(m.group(1)) / 1048576) if m else "RAM unknown"
    return "%s; %s; Linux %s %s" % (model or "CPU model unknown", mem, os.uname().release,
                                    os.uname().machine)


def disk_needed(cfg):
    """Bytes a run needs free in its work directory: its largest phase is the delivery, the
    backlog in the outbox plus the sink's copy of it (measured at 1.2 GB for the full run's
    2,000 x 300 KB), with a quarter on top for the WALs and the brokers."""
    return max(int(2.5 * cfg["backlog"] * cfg["photo_kb"] * 1024), 64 << 20)


def work_refusal(work, store, cfg, short):
    """Why a run must not put its files in @work (on @store, storage_of(work)), for stderr;
    None when it may."""
    if not os.path.isdir(work):
        return "not a directory"
    if store["ram"] and not short:
        return ("its filesystem (%s) keeps its data in RAM, where fsync costs nothing: the "
                "capture-to-durable rows would not measure a station's storage. Give a "
                "directory on the disk the station seals to: make bench BENCH_WORK=DIR" %
                store["text"])
    st = os.statvfs(work)
    free, need = st.f_bavail * st.f_frsize, disk_needed(cfg)
    if free < need:
        return ("%.0f MB free; a %s run needs %.0f MB (its delivery phase holds a "
                "%d-package backlog and the sink's copy of it). Free some space or give "
                "another directory: make bench BENCH_WORK=DIR" % (
                    free / 1e6, "short" if short else "full", need / 1e6, cfg["backlog"]))
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="build dir with sealbenchd and the tools")
    ap.add_argument("--bench", required=True, help="the sealbench-bench binary")
    ap.add_argument("--out", required=True, help="directory for <date>-<host>.md")
    ap.add_argument("--short", action="store_true", help="tiny counts: proves it runs")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--work", default=tempfile.gettempdir(), metavar="DIR",
                    help="where the bench's databases, backlogs and brokers go (a fresh "
                    "directory in DIR; default %(default)s). Put it on the filesystem the "
                    "station seals to (on a board, the one holding /var/lib/sealbench): the "
                    "capture rows time its fsync. A full run refuses tmpfs, ramfs and zram.")
    args = ap.parse_args()
    cfg = SHORT if args.short else FULL
    store = storage_of(args.work)  # also for the header
    why = work_refusal(args.work, store, cfg, args.short)
    if why:
        print("run.py: --work %s: %s" % (args.work, why), file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="sb-bench-", dir=args.work)
    table, notes = Table(), []
    t0 = time.monotonic()
    try:
        capture_to_durable(args, cfg, work, table, notes)
        if cfg["callgrind_runs"]:
            callgrind(args, cfg, work, table, notes)
        growth(args, cfg, work, table, notes)
        daemon_phases(args, cfg, work, table, notes)
        station_delivery(args, cfg, work, table, notes)
        shared_sinks(args, cfg, work, table, notes)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    host = socket.gethostname()
    now = datetime.datetime.now(datetime.timezone.utc)
    head = ["# sealbench bench%s: %s, %s" % (" (short: counts too small to judge)"
                                           if args.short else "", host,
                                           now.strftime("%Y-%m-%d %H:%M UTC")),
            "",
            "%d CPUs, load average at the end %s; git %s; %.0f s." % (
                os.cpu_count(), " ".join("%.2f" % x for x in os.getloadavg()), git_revision(),
                time.monotonic() - t0),
            "",
            "machine: %s." % machine_text(),
            "",
            "storage (the bench's files, --work %s): %s." % (args.work, store["text"]),
            ""]
    text = ("\n".join(head) + "\n" + table.markdown() + "\n\n" +
            "\n".join("- " + n for n in notes) + "\n")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "%s-%s.md" % (now.strftime("%Y-%m-%d"), host))
    with open(path, "w") as f:
        f.write(text)
    print(text)
    print("written to %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
