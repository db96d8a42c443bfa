#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make bench's choice of storage: where its files go, what the results header says about it.

The capture-to-durable rows time fsync, so a results file is only comparable with another
(a board's SD card next to the VM's virtio disk) when it says what it was measured on, and a
full run on a RAM filesystem would time memory. Checks, with no benchmark run:

1. storage_of() agrees with util-linux findmnt (filesystem type, source, mount point) for a
   fresh directory in the default --work, the source tree, /dev/shm and /proc.
2. Mount points written with octal escapes in /proc/self/mountinfo come back unescaped.
3. A full run with --work on a tmpfs (/dev/shm) exits 2 before it creates anything, naming the
   directory, the filesystem and BENCH_WORK; --work on a missing directory exits 2 too, and a
   directory with less free space than the run needs is refused.
4. machine_text() names the kernel and the memory; git_revision() is HEAD's.

Usage: tests/bench/run_check.py. Prints "bench-run: N passed, N failed"; exits 1 on any
failure.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import run  # noqa: E402

passed = failed = 0


def check(name, cond, msg=""):
    global passed, failed
    if cond:
        passed += 1
        print("PASS %s" % name, flush=True)
    else:
        failed += 1
        print("FAIL %s: %s" % (name, msg), flush=True)


def findmnt(path):
    """(fstype, source, target) of the mount holding @path; the last of stacked mounts."""
    out = subprocess.run(["findmnt", "-J", "-o", "FSTYPE,SOURCE,TARGET", "-T", path],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    fs = json.loads(out)["filesystems"][-1]
    return fs["fstype"], fs["source"], fs["target"]


def test_storage_matches_findmnt():
    d = tempfile.mkdtemp(prefix="sb-runcheck-")
    try:
        for path in (d, ROOT, "/dev/shm", "/proc"):
            if not os.path.isdir(path):
                check("storage %s" % path, False, "not a directory on this machine")
                continue
            s = run.storage_of(path)
            want = findmnt(path)
            got = (s["fstype"], s["source"], s["mount"])
            check("storage %s" % path, got == want, "storage_of %s, findmnt %s" % (got, want))
            check("storage %s text" % path, s["text"].startswith("%s on %s" % want[:2]) and
                  s["text"].endswith("mounted at %s" % want[2]), s["text"])
            check("storage %s ram" % path, s["ram"] == (want[0] in ("tmpfs", "ramfs")),
                  "ram=%s for %s" % (s["ram"], want[0]))
    finally:
        os.rmdir(d)


def test_unescape():
    got = run.unescape_mountinfo(r"/mnt/a\040b\011c\134d")
    check("mountinfo escapes", got == "/mnt/a b\tc\\d", repr(got))


def bench_full(work):
    """run.py as make bench runs it, without --short; it must refuse before measuring."""
    return subprocess.run([sys.executable, os.path.join(HERE, "run.py"), "--bin", "/nonexistent",
                           "--bench", "/nonexistent/sealbench-bench", "--out", "/nonexistent",
                           "--work", work], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=60)


def test_refuses_ram():
    if findmnt("/dev/shm")[0] != "tmpfs":
        check("refuses tmpfs", False, "/dev/shm is not a tmpfs here: no RAM filesystem to try")
        return
    d = tempfile.mkdtemp(prefix="sb-runcheck-", dir="/dev/shm")
    try:
        p = bench_full(d)
        check("refuses tmpfs: exit 2", p.returncode == 2, "exit %d, stderr %r" % (
            p.returncode, p.stderr))
        check("refuses tmpfs: says why", d in p.stderr and "tmpfs" in p.stderr and
              "BENCH_WORK" in p.stderr, repr(p.stderr))
        check("refuses tmpfs: creates nothing", os.listdir(d) == [], repr(os.listdir(d)))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    p = bench_full("/nonexistent/bench-work")
    check("missing --work: exit 2", p.returncode == 2 and "not a directory" in p.stderr,
          "exit %d, stderr %r" % (p.returncode, p.stderr))


def test_refuses_small_disk():
    d = tempfile.mkdtemp(prefix="sb-runcheck-")
    try:
        st = os.statvfs(d)
        free, store = st.f_bavail * st.f_frsize, run.storage_of(d)
        # A backlog that cannot fit: the same check make bench runs, on this disk.
        why = run.work_refusal(d, store, dict(run.FULL, backlog=free // 1024 + 1), False)
        check("refuses a full disk", why is not None and "MB free" in why and
              "BENCH_WORK" in why, repr(why))
        why = run.work_refusal(d, store, run.SHORT, True)
        if free >= run.disk_needed(run.SHORT):
            check("accepts a short run here", why is None, repr(why))
        else:
            check("refuses a short run here (%d bytes free)" % free, why is not None, "None")
    finally:
        os.rmdir(d)


def test_machine():
    t = run.machine_text()
    check("machine text", ("Linux %s" % os.uname().release) in t and "RAM" in t, t)
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    rev = run.git_revision()
    if head.returncode == 0:
        check("git revision", rev.split()[0] == head.stdout.strip(), rev)
    else:
        check("git revision outside a checkout", rev.startswith("unknown"), rev)


def main():
    test_storage_matches_findmnt()
    test_unescape()
    test_refuses_ram()
    test_refuses_small_disk()
    test_machine()
    print("bench-run: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
