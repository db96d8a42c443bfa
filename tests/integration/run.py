#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests: the daemon on the sim board, a real mosquitto on a free loopback port,
the central sink, the station simulator. Each test gets its own work directory, broker and
processes; every wait is on a process output line or exit, bounded by a deadline.

Usage: tests/integration/run.py --bin BUILD_DIR [-k NAME] [--keep]
Prints "integration: N passed, N failed".
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import sealbench_rig as rig  # noqa: E402

sys.path.insert(0, os.path.dirname(HERE))
import validate_records  # noqa: E402  (python3-jsonschema, installed by make deps)

SCHEMA = os.path.join(ROOT, "firmware/schema/evidence.schema.json")
ARGS = None


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def packages(start, kinds):
    orders, scn = [], []
    for i, kind in enumerate(kinds):
        o, lines = rig.make_package(start + i, kind)
        orders.append(o)
        scn.append(lines)
    return orders, scn


def new_station(name):
    d = tempfile.mkdtemp(prefix="sb-%s-" % name)
    return rig.Station(d, ARGS.bin)


def verify_all(st, expect_min):
    """Every sealed record at the sink byte-exact with its photo; the chain links; the
    sequence has no gaps; every record validates against the JSON Schema."""
    ids = [r[0] for r in st.station_records()]
    missing = st.wait_delivered(ids, timeout=120)
    check(not missing, "not delivered: %s" % sorted(missing)[:5])
    sealed, delivered, problems = st.verify()
    check(not problems, "; ".join(problems[:5]))
    check(sealed >= expect_min, "only %d sealed, expected at least %d" % (sealed, expect_min))
    check(sealed == delivered, "%d sealed, %d delivered" % (sealed, delivered))
    prev = "0" * 64
    validator = validate_records.make_validator(SCHEMA)
    for n, (rid, js, _) in enumerate(st.station_records(), start=1):
        rec = json.loads(js)
        check(rec["seq"] == n, "%s: seq %d, expected %d (gap)" % (rid, rec["seq"], n))
        check(rec["prev"] == prev, "%s: prev does not link to the previous record" % rid)
        errors = sorted(validator.iter_errors(rec), key=lambda e: e.path)
        check(not errors, "%s: schema: %s" % (rid, errors[0].message if errors else ""))
        prev = hashlib.sha256(js.encode()).hexdigest()
    return sealed


# ---- tests ---------------------------------------------------------------------------------

def test_200_packages():
    """200 packages daemon -> broker -> sink, every record and photo intact."""
    st = new_station("200")
    try:
        kinds = rig.demo_mix(200)
        orders, scn = packages(0, kinds)
        st.set_orders(orders)
        path = os.path.join(st.dir, "s.scn")
        rig.write_scenario(path, scn)
        st.broker.start()
        st.start_sink()
        st.start_daemon()
        check(st.run_scenario(path) == 0, "scenario failed (see %s/sim.log)" % st.dir)
        n = verify_all(st, 200)
        photos = sum(1 for r in st.station_records() if r[2])
        check(photos >= 40, "expected photos for fragile/high-value packages, got %d" % photos)
        print("  %d records, %d photos delivered intact" % (n, photos))
    finally:
        st.stop()
    return st


def test_broker_killed_and_restarted():
    """SIGKILL the broker mid-run, restart it on the same port: nothing lost."""
    st = new_station("broker")
    try:
        kinds = ["plain" if i % 3 else "fragile" for i in range(40)]
        orders, scn = packages(1000, kinds)
        st.set_orders(orders)
        path = os.path.join(st.dir, "s.scn")
        rig.write_scenario(path, scn)
        st.broker.start()
        st.start_sink()
        st.start_daemon()
        sim = rig.Proc("packer", st.sim_argv("scenario", path), os.path.join(st.dir, "sim.log"))
        for _ in range(10):
            st.daemon.wait_line(lambda l: "[sealed]" in l, 60)
        st.broker.stop(rig.signal.SIGKILL)
        # the station goes on sealing while the broker is away
        for _ in range(5):
            st.daemon.wait_line(lambda l: "[sealed]" in l, 60)
        st.broker.start()
        check(sim.p.wait(timeout=300) == 0, "scenario failed (see %s/sim.log)" % st.dir)
        sim.stop()
        verify_all(st, 40)
    finally:
        st.stop()


def test_daemon_sigkill_and_restart():
    """SIGKILL the daemon mid-run, restart it: nothing lost, nothing duplicated at the sink,
    the chain continues."""
    st = new_station("kill")
    try:
        orders1, scn1 = packages(2000, ["plain", "fragile"] * 15)
        orders2, scn2 = packages(3000, ["plain", "fragile"] * 5)
        st.set_orders(orders1 + orders2)
        p1 = os.path.join(st.dir, "s1.scn")
        p2 = os.path.join(st.dir, "s2.scn")
        rig.write_scenario(p1, scn1)
        rig.write_scenario(p2, scn2)
        st.broker.start()
        st.start_sink()
        st.start_daemon()
        sim = rig.Proc("packer", st.sim_argv("scenario", p1), os.path.join(st.dir, "sim.log"))
        for _ in range(12):
            st.daemon.wait_line(lambda l: "[sealed]" in l, 60)
        st.daemon.kill()
        sim.kill()
        sealed_before = len(st.station_records())
        check(sealed_before >= 12, "only %d sealed before the kill" % sealed_before)
        st.start_daemon()
        check(st.run_scenario(p2) == 0, "scenario after restart failed (see %s/sim.log)" % st.dir)
        n = verify_all(st, sealed_before + 10)
        dups = sum(1 for l in open(os.path.join(st.dir, "sink.log")) if "conflict" in l)
        check(dups == 0, "the sink saw %d conflicting duplicates" % dups)
        print("  %d sealed before the kill, %d in all, all delivered once" % (sealed_before, n))
    finally:
        st.stop()


def test_broker_unreachable_at_start():
    """No broker when the station starts: it seals locally, delivers when central appears."""
    st = new_station("nobroker")
    try:
        orders, scn = packages(4000, ["plain", "fragile", "plain", "plain", "fragile"])
        st.set_orders(orders)
        path = os.path.join(st.dir, "s.scn")
        rig.write_scenario(path, scn)
        st.start_daemon()
        check(st.run_scenario(path) == 0, "scenario failed offline (see %s/sim.log)" % st.dir)
        recs = st.station_records()
        check(len(recs) == 5, "expected 5 sealed offline, got %d" % len(recs))
        for rid, js, _ in recs:
            rec = json.loads(js)
            check(rec["order"]["source"] == "pending", "%s: order source %s offline" %
                  (rid, rec["order"]["source"]))
            check(rec["photo"] is not None, "%s: pending order context must get a photo" % rid)
        st.broker.start()
        st.start_sink()
        verify_all(st, 5)
    finally:
        st.stop()


def run_daemon_expect_error(st, extra_args, conf=None, board=None):
    argv = st.daemon_argv()
    if conf:
        argv[argv.index("--config") + 1] = conf
    if board:
        argv[argv.index("--board") + 1] = board
    p = subprocess.run(argv + extra_args, capture_output=True, text=True, timeout=30, cwd=ROOT)
    return p.returncode, p.stderr


def test_bad_config_does_not_start():
    """A garbage station config, an unknown board key, a missing device: clear error with
    file:line, exit 1."""
    st = new_station("badconf")
    try:
        garbage = os.path.join(st.dir, "garbage.conf")
        with open(garbage, "wb") as f:
            f.write(b"[station]\nsite = wh1\nid = st01\n\x00\xff garbage here\n[rules]\n")
        rc, err = run_daemon_expect_error(st, [], conf=garbage)
        check(rc == 1, "garbage config: exit %d" % rc)
        check(garbage + ":4:" in err, "garbage config: no file:line in %r" % err)

        bad_key = os.path.join(st.dir, "station.conf")
        src = open(os.path.join(ROOT, "boards/sim/station.conf")).read()
        with open(bad_key, "w") as f:
            f.write(src.replace("order_timeout_ms = 1500", "order_timeout_ms = soon"))
        rc, err = run_daemon_expect_error(st, [], conf=bad_key)
        check(rc == 1 and "'soon' is not an integer" in err, "bad integer: %d %r" % (rc, err))

        board = os.path.join(st.dir, "board.conf")
        bsrc = open(os.path.join(ROOT, "boards/sim/board.conf")).read()
        with open(board, "w") as f:
            f.write(bsrc.replace("scale.device", "scale.devise"))
        rc, err = run_daemon_expect_error(st, [], board=board)
        check(rc == 1 and "unknown key 'scale.devise'" in err and board + ":" in err,
              "unknown board key: %d %r" % (rc, err))

        with open(board, "w") as f:
            f.write(bsrc.replace("sim/scale.fifo", "/nonexistent/dir/scale.fifo"))
        rc, err = run_daemon_expect_error(st, [], board=board)
        check(rc == 1 and "/nonexistent/dir/scale.fifo" in err and board + ":" in err,
              "missing device: %d %r" % (rc, err))

        rc, err = run_daemon_expect_error(st, ["--check"])
        check(rc == 0, "--check on the good files: %d %r" % (rc, err))
    finally:
        st.stop()


def test_wrong_step_scans_and_void():
    """Scans at the wrong step are rejected (red + text) without corrupting the package; a
    void after a seal makes a void record pointing at it."""
    st = new_station("wrongstep")
    try:
        orders, scn = packages(5000, ["plain"])
        st.set_orders(orders)
        o = orders[0]
        path = os.path.join(st.dir, "s.scn")
        with open(path, "w") as f:
            f.write("scan %s\nexpect-text \"Badge in first\"\n" % o["order_id"])
            f.write("badge P-2002\nexpect green\n")
            f.write("scan BOX-M\nexpect-text \"order slip or the shipping label\"\nexpect red\n")
            f.write("scan NOT-A-BARCODE\nexpect-text \"Unknown barcode\"\n")
            f.write("\n".join(scn[0]) + "\n")
            f.write("scan CMD-VOID\nexpect-text Voided\n")
            f.write("scan CMD-VOID\nexpect-text \"Nothing to void\"\n")
            f.write("scan CMD-BADGEOUT\nexpect-text \"Badge in\"\n")
        st.broker.start()
        st.start_sink()
        st.start_daemon()
        check(st.run_scenario(path) == 0, "scenario failed (see %s/sim.log)" % st.dir)
        verify_all(st, 2)
        recs = [json.loads(r[1]) for r in st.station_records()]
        check(recs[0]["kind"] == "seal" and recs[0]["packaging"]["code"] == "BOX-M",
              "first record is not the package: %r" % recs[0].get("kind"))
        check(recs[0]["packer"]["id"] == "P-2002", "packer not recorded")
        check(recs[1]["kind"] == "void" and recs[1]["voids"] == recs[0]["id"],
              "second record does not void the first")
    finally:
        st.stop()


def test_override_recorded():
    """High value without signature blocks (red) until a lead badge; the override is in the
    record, and a packer badge cannot release it."""
    st = new_station("override")
    try:
        orders, scn = packages(6000, ["high_value_nosig"])
        st.set_orders(orders)
        lines = scn[0]
        i = lines.index("badge L-9001")
        lines[i:i] = ["badge P-3003", "expect-text \"Finish or void\""]
        path = os.path.join(st.dir, "s.scn")
        rig.write_scenario(path, [lines])
        st.broker.start()
        st.start_sink()
        st.start_daemon()
        check(st.run_scenario(path) == 0, "scenario failed (see %s/sim.log)" % st.dir)
        verify_all(st, 1)
        rec = json.loads(st.station_records()[0][1])
        check(rec["override"] and rec["override"]["lead_id"] == "L-9001", "no override")
        check("signature_threshold" in rec["override"]["rules"], "override rules missing")
        res = {r["rule"]: r["result"] for r in rec["rules"]["results"]}
        check(res["signature_threshold"] == "block", "rule result not recorded as block")
        check(rec["flags"]["high_value"], "high-value flag missing")
        check(rec["photo"] is not None, "high value needs a photo")
    finally:
        st.stop()


def test_labels_2d_and_station_checks():
    """Labels are verified (check digits), a 2D label's ship-to is compared with the order,
    the station runs its own address checks and the carrier's dimensional-weight rule."""
    st = new_station("labels")
    try:
        orders, scn = packages(7000, ["plain", "plain"])
        good, bad = orders
        good["declared_dims_mm"] = [300, 200, 150]  # declared smaller than BOX-M: billed more
        st.set_orders(orders)
        zip_good = good["address"]["postal_code"] + "0000"
        lines_good = list(scn[0])
        i = lines_good.index("scan BOX-M")
        lines_good[i:i] = ["scan " + rig.maxicode_label(good["tracking"], zip_good),
                           "expect-text \"scan box\""]
        lines_bad = list(scn[1])
        i = lines_bad.index("scan BOX-M")
        lines_bad[i:i] = ["scan " + rig.maxicode_label(bad["tracking"], "941030000",
                                                         city="San Francisco", state="CA")]
        j = lines_bad.index("expect-text Sealed")
        lines_bad[j:] = ["expect-text \"2D label ships to\"", "expect red",
                         "scan CMD-VOID", "expect-text \"Package cancelled\""]
        wrong = good["tracking"][:-1] + str((int(good["tracking"][-1]) + 1) % 10)
        path = os.path.join(st.dir, "s.scn")
        rig.write_scenario(path, [["scan " + wrong, "expect-text \"check digit is wrong\""],
                                  lines_good, lines_bad])
        st.broker.start()
        st.start_sink()
        st.start_daemon()
        check(st.run_scenario(path) == 0, "scenario failed (see %s/sim.log)" % st.dir)
        verify_all(st, 1)
        recs = [json.loads(r[1]) for r in st.station_records()]
        check(len(recs) == 1, "expected only the good package sealed, got %d" % len(recs))
        rec = recs[0]
        lab = rec["shipment"].get("label", {})
        check(lab.get("kind") == "ups_1z" and lab.get("check") == "ok", "label: %r" % lab)
        check(lab.get("two_d", {}).get("country") == "US", "2D label not recorded: %r" % lab)
        av = rec["address_validation"]
        check(av["source"] == "station" and av["result"] == "pass", "address: %r" % av)
        check(rec["weight"].get("dim_rule", "").startswith("ups-daily@"),
              "dim rule: %r" % rec["weight"])
        res = {r["rule"]: r["result"] for r in rec["rules"]["results"]}
        check(res.get("dim_mismatch") == "warn", "dim_mismatch: %r" % res)
        check(rec["weight"].get("charge_correction_predicted") is True, "no correction flag")
    finally:
        st.stop()


def test_codes_badge_barcode_and_pedal():
    """Site codes: a badge printed as a barcode starts a session, CMD-REPRINT shows the last
    seal again, CMD-OVERRIDE prompts for a lead at a block; the foot pedal accepts a box left
    on the scale (re-weighed in place)."""
    st = new_station("codes")
    try:
        orders, scn = packages(8000, ["plain", "high_value_nosig", "plain"])
        st.set_orders(orders)
        first, blocked, third = scn
        i = blocked.index("badge L-9001")
        blocked[i:i] = ["scan CMD-OVERRIDE", "expect-text \"Lead: badge now\""]
        blocked = blocked[:-1] if blocked[-1] == "weigh 0 stable" else blocked
        # the third box goes on the scale without the scale being seen empty: the station asks
        # to clear it; the pedal takes the weight as it is
        third = [l for l in third if l != "weigh 0 stable"]
        j = third.index("expect-text Sealed")
        third[j:j] = ["pedal"]
        path = os.path.join(st.dir, "s.scn")
        with open(path, "w") as f:
            f.write("scan BADGE-7001\nexpect-text \"BADGE-7001: scan order or label\"\n")
            f.write("scan CMD-REPRINT\nexpect-text \"Nothing sealed yet\"\n")
            f.write("\n".join(first) + "\n")
            f.write("scan CMD-REPRINT\nexpect-text \"Sealed st01-0000000001\"\n")
            f.write("\n".join(blocked) + "\n")
            # leave the sealed box on the scale: the next package must not reuse its weight
            f.write("weigh 1500 stable\n")
            f.write("\n".join(third) + "\n")
        st.broker.start()
        st.start_sink()
        st.start_daemon()
        check(st.run_scenario(path) == 0, "scenario failed (see %s/sim.log)" % st.dir)
        verify_all(st, 3)
        recs = [json.loads(r[1]) for r in st.station_records()]
        check(all(r["packer"]["id"] == "BADGE-7001" for r in recs), "packer from the barcode")
        check(recs[1]["override"]["lead_id"] == "L-9001", "override after the prompt")
        log = open(os.path.join(st.dir, "sealbenchd.log")).read()
        check("clear the scale" in log and "pedal accepts" in log,
              "the third box was not taken by the pedal")
    finally:
        st.stop()


def bundle_sections(conf_text, **changes):
    """The [rules], [carrier] and [box] sections of a station config, [rules] keys changed."""
    out, keep, section = [], False, ""
    for line in conf_text.splitlines():
        if line.startswith("["):
            section = line.strip()[1:-1]
            keep = section == "rules" or section.startswith(("carrier ", "box "))
        if not keep:
            continue
        key = line.split("=", 1)[0].strip()
        if section == "rules" and "=" in line and key in changes:
            line = "%s = %s" % (key, changes[key])
        out.append(line)
    return "\n".join(out) + "\n"


def test_signed_rules_bundle():
    """A lead's signed rules bundle is applied (and changes what blocks); forged, wrong-key,
    expired, rolled-back, wrong-scope, truncated and oversized bundles are refused, the rules
    in force stay; the kept bundle is in force again after a restart."""
    st = new_station("bundle")
    rules_tool = os.path.join(ARGS.bin, "sealbench-rules")
    leads = os.path.join(st.dir, "leads")
    os.makedirs(leads)
    with open(os.path.join(ROOT, "boards/sim/station.conf")) as f:
        base = f.read()
    conf = base.replace("dimweight_file = ../../firmware/dimweight.conf",
                        "dimweight_file = %s" % os.path.join(ROOT, "firmware/dimweight.conf"))
    conf = conf.replace("[station]\n", "[station]\nlead_keys_dir = %s\n" % leads, 1)
    st.conf = os.path.join(st.dir, "station.conf")
    with open(st.conf, "w") as f:
        f.write(conf)

    def tool(*args, ok=True):
        p = subprocess.run([rules_tool] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60, cwd=st.dir)
        check((p.returncode == 0) == ok, "sealbench-rules %s: rc %d: %s" %
              (args[0], p.returncode, p.stdout.strip()))
        return p.stdout

    def sign(name, version, key="lead.key", lead="L-9001", site="wh1", stations="*",
             expires="30", issued=None, **changes):
        rules = os.path.join(st.dir, name + ".conf")
        changes.setdefault("version", "bundle-%s" % name)
        with open(rules, "w") as f:
            f.write(bundle_sections(base, **changes))
        out = os.path.join(st.dir, name + ".json")
        tool("sign", "--key", key, "--lead", lead, "--site", site, "--stations", stations,
             "--version", str(version), "--expires", expires, rules, "-o", out,
             *(["--issued", issued] if issued else []))
        return out

    def publish_raw(path):
        p = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(st.broker.port),
                            "-V", "mqttv5", "-q", "1", "-r", "-t", "sealbench/v1/wh1/config",
                            "-f", path], timeout=30, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        check(p.returncode == 0, "mosquitto_pub: %s" % p.stdout)

    def refused(path, why, raw=False):
        if raw:
            publish_raw(path)
        else:
            tool("publish", "--port", str(st.broker.port), path)
        line = st.daemon.wait_line(lambda l: "REFUSED" in l, 20)
        check(why in line, "refusal %r does not say %r" % (line.strip(), why))

    def status(pred, what):
        """The station's status once it satisfies pred (it folds changes for up to 1 s)."""
        sub = rig.Proc("status", ["mosquitto_sub", "-h", "127.0.0.1", "-p",
                                  str(st.broker.port), "-V", "mqttv5", "-t",
                                  "sealbench/v1/wh1/st01/status"],
                       os.path.join(st.dir, "status.log"))
        try:
            line = sub.wait_line(lambda l: l.startswith("{") and pred(json.loads(l)), 20)
        except rig.RigError:
            raise Fail("status never showed %s (see %s/status.log)" % (what, st.dir))
        finally:
            sub.kill()
        return json.loads(line)

    try:
        tool("keygen", "--key", "lead.key", "--pub", os.path.join(leads, "L-9001.pub"))
        tool("keygen", "--key", "rogue.key", "--pub", "rogue.pub")
        good = sign("good", 3, signature_threshold_cents="100000",
                    high_value_cents="100000")
        orders, scn = packages(8000, ["high_value_nosig", "plain", "plain"])
        st.set_orders(orders)
        st.broker.start()
        st.start_sink()
        st.start_daemon()
        status(lambda s: s["rules_source"] == "station.conf", "rules from station.conf")
        tool("publish", "--port", str(st.broker.port), good)
        st.daemon.wait_line(lambda l: "rules now from site bundle 3" in l, 20)

        # what blocked under station.conf (89,900 cents without signature) seals now
        lines = [l for l in scn[0] if l not in ("expect-text BLOCKED", "expect red",
                                                  "badge L-9001")]
        path = os.path.join(st.dir, "s1.scn")
        rig.write_scenario(path, [lines])
        check(st.run_scenario(path) == 0, "package under the bundle's rules did not seal "
              "without a lead (see %s/sim.log)" % st.dir)
        verify_all(st, 1)
        rec = json.loads(st.station_records()[0][1])
        check(rec["rules"]["version"] == "bundle-good", "record rules version %r" %
              rec["rules"]["version"])
        check(not rec["override"], "an override where none was needed")

        # refusals: each leaves the bundle in force
        with open(good) as f:
            env = json.load(f)
        forged = dict(env, bundle=env["bundle"].replace("100000", "900000"))
        with open(os.path.join(st.dir, "forged.json"), "w") as f:
            json.dump(forged, f)
        refused(os.path.join(st.dir, "forged.json"), "signature", raw=True)
        refused(sign("rogue", 4, key="rogue.key"), "signature")
        refused(sign("stranger", 4, key="rogue.key", lead="L-7777"), "no key here")
        refused(sign("expired", 4, issued="2025-01-01T00:00:00Z",
                     expires="2026-01-01T00:00:00Z"), "expired")
        refused(sign("old", 2), "rolled back")
        refused(sign("wrongsite", 4, site="wh2"), "site 'wh2'", raw=True)
        refused(sign("otherstation", 4, stations="st02,st03"), "not for station 'st01'")
        with open(os.path.join(st.dir, "cut.json"), "w") as f:
            f.write(json.dumps(env)[:400])
        refused(os.path.join(st.dir, "cut.json"), "truncated", raw=True)
        with open(os.path.join(st.dir, "big.json"), "w") as f:
            f.write(" " * (256 * 1024 + 1))
        refused(os.path.join(st.dir, "big.json"), "larger than", raw=True)
        s = status(lambda s: "larger than" in s["bundle_rejected"], "the last refusal")
        check(s["rules_source"] == "site bundle 3" and s["bundle_site"] == 3 and
              s["rules_version"] == "bundle-good", "status after refusals: %s" % s)

        # a bundle arriving mid-package waits for that package to end: each record is sealed
        # under one rule set
        cut = scn[1].index('expect-text "place package"') + 1
        rig.write_scenario(os.path.join(st.dir, "s2.scn"), [scn[1][:cut]], badge_in=False)
        check(st.run_scenario(os.path.join(st.dir, "s2.scn")) == 0, "first half failed")
        tool("publish", "--port", str(st.broker.port), sign("five", 5))
        st.daemon.wait_line(lambda l: "applies when the package in progress ends" in l, 20)
        rig.write_scenario(os.path.join(st.dir, "s3.scn"), [scn[1][cut:], scn[2]],
                           badge_in=False)
        check(st.run_scenario(os.path.join(st.dir, "s3.scn")) == 0, "second half failed")
        verify_all(st, 3)
        versions = [json.loads(r[1])["rules"]["version"] for r in st.station_records()]
        check(versions == ["bundle-good", "bundle-good", "bundle-five"],
              "rules versions of the records: %s" % versions)

        # the kept bundle is in force again after a restart, before the broker delivers it
        st.daemon.stop()
        st.broker.stop()
        st.start_daemon(wait_ready=False)
        st.daemon.wait_line(lambda l: "rules now from site bundle 5" in l, 20)
        st.daemon.wait_line(lambda l: "ready:" in l, 20)
    finally:
        st.stop()


TESTS = [v for k, v in sorted(globals().items()) if k.startswith("test_")]


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("-k", default="", help="run tests whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep work directories")
    ARGS = ap.parse_args()
    ARGS.bin = os.path.abspath(ARGS.bin)
    passed = failed = 0
    for t in TESTS:
        if ARGS.k not in t.__name__:
            continue
        print("--- %s: %s" % (t.__name__, t.__doc__.splitlines()[0]), flush=True)
        try:
            t()
            passed += 1
            print("PASS %s" % t.__name__, flush=True)
        except (Fail, rig.RigError, subprocess.TimeoutExpired) as e:
            failed += 1
            print("FAIL %s: %s" % (t.__name__, e), flush=True)
        except Exception:
            failed += 1
            traceback.print_exc()
            print("FAIL %s (exception)" % t.__name__, flush=True)
    print("integration: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
