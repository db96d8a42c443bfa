#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The full-daemon run inside the test VM (tests/vm/README.md).

sealbenchd runs on boards/vm/board.conf against the VM's simulated devices (vm-check devices:
uinput scanner and badge, vivid camera, HID POS scale gadget, gpio-sim light and pedal), with
a private mosquitto on 127.0.0.1 and the central sink, all from tools/sealbench_rig.py. A
packer badges in and packs four packages (plain, fragile -> photo, high value without a
signature service -> BLOCKED with the red light read back from gpio-sim until a lead badges
over the real badge reader, plain) through the real devices; every record must reach the
sink. Prints PASS/FAIL lines like vm-check.

Usage: tests/vm/e2e.py --bin BUILD_DIR
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import sealbench_rig as rig  # noqa: E402

STEP_TIMEOUT = 30
KINDS = ["plain", "fragile", "high_value_nosig", "plain"]
LEAD = "L-9001"
# Device identities every record must carry: the HID scale gadget and the uinput scanner.
REAL_DEVICES = ["0922:8003", "sealbench vm scanner"]


def report(ok, name, detail):
    print("%s %s: %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)
    return ok


def device(dev, cmd):
    """One command to the device server; its reply must start with "ok". Returns it."""
    dev.p.stdin.write(cmd + "\n")
    dev.p.stdin.flush()
    reply = dev.wait_line(lambda l: l.startswith("ok") or l.startswith("error"), STEP_TIMEOUT)
    if not reply.startswith("ok"):
        raise rig.RigError("device server: %s" % reply)
    return reply


def lights(dev):
    """The stack light as gpio-sim's line values: {"red": "1", ...}."""
    reply = device(dev, "lights")
    return dict(kv.split("=", 1) for kv in reply.split()[2:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="sealbench-e2e.")
    st = rig.Station(work, a.bin, board_conf=os.path.join(ROOT, "boards/vm/board.conf"))
    dev = None
    ok = True
    try:
        dev = rig.Proc("devices", [os.path.join(os.path.abspath(a.bin), "vm", "vm-check"),
                                   "devices", st.run_dir],
                       os.path.join(work, "devices.log"), stdin=subprocess.PIPE)
        ready = dev.wait_line(lambda l: l.startswith("ready") or l.startswith("error"),
                              STEP_TIMEOUT)
        if not ready.startswith("ready"):
            return report(False, "e2e.devices", ready)
        report(True, "e2e.devices", ready)
        orders, packages = [], []
        for i, kind in enumerate(KINDS):
            order, lines = rig.make_package(i, kind)
            orders.append(order)
            packages.append(lines)
        st.set_orders(orders)
        st.broker.start()
        st.start_sink()
        st.start_daemon()
        report(True, "e2e.start", "mosquitto, sink and sealbenchd (boards/vm) up")
        device(dev, "badge P-1001")
        st.daemon.wait_line(lambda l: "badged in" in l, STEP_TIMEOUT)
        for i, lines in enumerate(packages):
            sealed_lights = {}
            # The simulator's scenario lines, played on the real devices.
            for ln in lines:
                if ln.startswith("#") or not ln.strip():
                    continue
                verb, _, arg = ln.partition(" ")
                if verb in ("scan", "badge", "weigh"):
                    device(dev, ln)
                elif verb == "expect-text":
                    text = arg.strip('"')
                    st.daemon.wait_line(lambda l, t=text: t in l, STEP_TIMEOUT)
                    if text == "Sealed":
                        # Green on the real lines (set before the text is logged).
                        sealed_lights = lights(dev)
                elif verb == "expect":
                    # The indicator sets the lines before it logs the text waited for above.
                    got = lights(dev)
                    ok = got.get(arg) == "1" and all(
                        got.get(c) == "0" for c in ("red", "amber", "green") if c != arg)
                    report(ok, "e2e.package%d.%s" % (i, arg), "%s while blocked: gpio-sim "
                           "lines %s" % (arg, " ".join("%s=%s" % kv for kv in got.items())))
                    if not ok:
                        raise rig.RigError("the stack light is not %s" % arg)
            got = sealed_lights
            if got.get("green") != "1" or got.get("red") != "0":
                raise rig.RigError("package %d sealed but the stack light reads %s" % (i, got))
            report(True, "e2e.package%d" % i, "%s sealed, stack light green" % KINDS[i])
        records = st.station_records()  # (id, json, photo_sha256)
        # The blocked package carries the lead's override, badged on the real reader.
        blocked = KINDS.index("high_value_nosig")
        ovr = json.loads(records[blocked][1]).get("override") if len(records) > blocked \
            else None
        ovr_ok = report(isinstance(ovr, dict) and LEAD in json.dumps(ovr), "e2e.override",
                        "record %s: override %s" % (
                            records[blocked][0] if len(records) > blocked else "?",
                            json.dumps(ovr)))
        photos = sum(1 for r in records if r[2])
        # The records name the real devices they were measured with.
        real = sum(1 for r in records if all(d in r[1] for d in REAL_DEVICES))
        missing = st.wait_delivered([r[0] for r in records], timeout=60)
        ok = report(len(records) == len(KINDS) and not missing and photos >= 1 and
                    real == len(records), "e2e.delivered",
                    "%d records sealed (%d with a photo, %d naming %s), %d delivered to the "
                    "sink" % (len(records), photos, real, "+".join(REAL_DEVICES),
                              len(records) - len(missing))) and ovr_ok
        if os.environ.get("VM_E2E_DUMP"):
            print(records[1][1])
    except rig.RigError as e:
        ok = report(False, "e2e", str(e))
    finally:
        st.stop()
        if dev:
            dev.p.stdin.close()
            dev.stop()
    # A clean shutdown on SIGTERM is exit 0; a sanitizer report at exit is not.
    if st.daemon and st.daemon.p.returncode != 0:
        ok = report(False, "e2e.shutdown", "sealbenchd exited with %s on SIGTERM" %
                    st.daemon.p.returncode)
    elif st.daemon:
        report(True, "e2e.shutdown", "sealbenchd exited 0 on SIGTERM")
    if not ok:
        for name in ("sealbenchd.log", "devices.log"):
            path = os.path.join(work, name)
            if os.path.exists(path):
                print("--- %s (last lines)" % name)
                with open(path) as f:
                    print("".join(f.readlines()[-25:]), end="")
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
