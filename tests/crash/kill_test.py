#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Process kills: SIGKILL sealbenchd at random points under a steady package load, restart it,
and at the end check that central (the sink) has every record the station showed green, once.

The rig (tools/sealbench_rig.py) runs the real parts: a private mosquitto on a loopback port,
sealbench-sink, sealbenchd on the sim board, sealbench-sim feeding packages. Each kill cycle
starts the daemon, starts the packer on fresh packages, lets a random number of the daemon's
state-change lines pass plus a random few milliseconds (waits on the daemon's output with a
timeout, not sleeps), and SIGKILLs the daemon (and the packer, whose package is abandoned
mid-way like a real one after a crash). Delivery runs all the time (the sink is up), so kills
land in sealing and in delivery alike.

Green = the daemon logged "sealed <pkg> as <id>", which it does after outbox_put() returned and
right before the light turns green. At the end the daemon runs once more until the outbox is
drained, then:
  - every green id is in the station's outbox and at the sink, byte-exact, photo hashes right;
  - the sink stored each id exactly once and saw no conflicting duplicate;
  - the station's chain has no gap and every prev links;
  - no start after a kill found the outbox damaged (SIGKILL must never corrupt it).

Usage: tests/crash/kill_test.py --bin BUILD [--kills N] [--seed S] [--keep]
Prints "kill: N kills, N green records, all delivered once" or FAIL lines; exit 0 on success.
"""
import argparse
import collections
import hashlib
import json
import os
import queue
import random
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import sealbench_rig as rig  # noqa: E402

PACKAGES_PER_CYCLE = 8
# daemon log lines per package (state changes), to spread the kill points over the work
LINES_PER_PACKAGE = 6
# longest wait for the daemon's next line (the scenario may be over: then kill at idle)
LINE_WAIT_S = 5
# after the chosen line, up to this much more of the daemon's work before the SIGKILL
KILL_WINDOW_S = 0.005
SEALED_RE = re.compile(r"sealed \S+ as (\S+)")


class Fail(Exception):
    pass


def wait_any_line(proc, deadline, limit=None):
    """Consume daemon lines until the deadline or @limit lines; returns the number seen (None
    when the process exited)."""
    n = 0
    while limit is None or n < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            return n
        try:
            line = proc.lines.get(timeout=left)
        except queue.Empty:
            return n
        if line is None:
            return None
        n += 1
    return n


def cycle(st, rnd, scn_path):
    st.start_daemon(timeout=30)
    sim = rig.Proc("packer", st.sim_argv("scenario", scn_path), os.path.join(st.dir, "sim.log"))
    try:
        # a random point in the cycle's work: after n of its ~LINES_PER_PACKAGE lines per
        # package (badge, scans, weigh, photo, seal, publish), then a little more
        n = rnd.randrange(0, LINES_PER_PACKAGE * PACKAGES_PER_CYCLE)
        for _ in range(n):
            if wait_any_line(st.daemon, time.monotonic() + LINE_WAIT_S, 1) != 1:
                break
        wait_any_line(st.daemon, time.monotonic() + rnd.uniform(0, KILL_WINDOW_S))
    finally:
        st.daemon.kill()
        sim.kill()


def green_ids(st):
    ids = []
    with open(os.path.join(st.dir, "sealbenchd.log"), errors="replace") as f:
        for line in f:
            m = SEALED_RE.search(line)
            if m:
                ids.append(m.group(1))
    return ids


def check_chain(records):
    prev = "0" * 64
    for n, (rid, js, _) in enumerate(records, start=1):
        rec = json.loads(js)
        if rec["seq"] != n:
            raise Fail("%s: seq %d, expected %d (gap)" % (rid, rec["seq"], n))
        if rec["prev"] != prev:
            raise Fail("%s: prev does not link to the previous record" % rid)
        prev = hashlib.sha256(js.encode()).hexdigest()


def run(args):
    rnd = random.Random(args.seed)
    workdir = tempfile.mkdtemp(prefix="sb-kill-")
    st = rig.Station(workdir, args.bin)
    ok = False
    try:
        scenarios, orders = [], []
        for c in range(args.kills):
            lines = []
            for j in range(PACKAGES_PER_CYCLE):
                i = 10000 + c * PACKAGES_PER_CYCLE + j
                o, l = rig.make_package(i, "fragile" if i % 3 == 0 else "plain")
                orders.append(o)
                lines.append(l)
            path = os.path.join(workdir, "c%05d.scn" % c)
            rig.write_scenario(path, lines)
            scenarios.append(path)
        st.set_orders(orders)
        st.broker.start()
        st.start_sink()
        t0 = time.monotonic()
        for c, path in enumerate(scenarios):
            cycle(st, rnd, path)
            if args.verbose:
                print("  kill %d: %d green so far" % (c + 1, len(green_ids(st))), flush=True)
        # the last start: drain the outbox to central
        st.start_daemon(timeout=30)
        records = st.station_records()
        missing = st.wait_delivered([r[0] for r in records], timeout=180)
        if missing:
            raise Fail("not delivered after the last restart: %s" % sorted(missing)[:5])
        st.daemon.stop()

        green = green_ids(st)
        station_ids = {r[0] for r in records}
        lost = [g for g in green if g not in station_ids]
        if lost:
            raise Fail("green but not in the outbox after restart: %s" % lost[:5])
        if len(set(green)) != len(green):
            dup = [k for k, v in collections.Counter(green).items() if v > 1]
            raise Fail("the same id was sealed green twice: %s" % dup[:5])
        check_chain(records)
        sealed, delivered, problems = st.verify()
        if problems:
            raise Fail("; ".join(problems[:5]))
        stored = collections.Counter()
        conflicts = 0
        with open(os.path.join(workdir, "sink.log"), errors="replace") as f:
            for line in f:
                if line.startswith("stored "):
                    stored[line.split()[1]] += 1
                if "conflict" in line:
                    conflicts += 1
        twice = [k for k, v in stored.items() if v != 1]
        if twice:
            raise Fail("stored more than once at the sink: %s" % twice[:5])
        if conflicts:
            raise Fail("the sink saw %d conflicting duplicates" % conflicts)
        if set(stored) != station_ids:
            raise Fail("sink and station differ: %d vs %d ids" % (len(stored), len(station_ids)))
        with open(os.path.join(workdir, "sealbenchd.log"), errors="replace") as f:
            damaged = [l.strip() for l in f if "damaged" in l]
        if damaged:
            raise Fail("a restart found the outbox damaged: %s" % damaged[0])
        print("kill: %d kills in %.0f s, %d green records (%d sealed in all), all delivered "
              "once" % (args.kills, time.monotonic() - t0, len(green), sealed))
        ok = True
    except (Fail, rig.RigError) as e:
        print("FAIL kill: %s (files kept in %s)" % (e, workdir))
    finally:
        st.stop()
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="build directory with sealbenchd etc.")
    ap.add_argument("--kills", type=int, default=60)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    print("kill: seed %d (--seed to repeat), %d kills" % (args.seed, args.kills), flush=True)
    return 0 if run(args) else 1


if __name__ == "__main__":
    sys.exit(main())
