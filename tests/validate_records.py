#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Validate evidence records against firmware/schema/evidence.schema.json.

Usage: tests/validate_records.py [--expect-invalid] [--schema S] [-v]
                                 [--jsonl FILE]... [FILE.json | DIR]...

Each FILE.json holds one record; each non-empty line of a --jsonl FILE is one record; a DIR
stands for the *.json files in it. Besides the schema, each record must be strict JSON
(UTF-8, no duplicate keys, no NaN/Infinity) and pass the checks JSON Schema cannot express
(id = station + "-" + seq as 10 digits; a void does not void itself).

Prints "schema: N passed, N failed" and exits 1 when anything failed or nothing was given.
With --expect-invalid every record must be REJECTED (negative fixtures): a rejected record
counts as passed, an accepted one as failed.
"""
import argparse
import datetime
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCHEMA = os.path.join(HERE, "..", "firmware", "schema", "evidence.schema.json")
MAX_REASONS = 5  # errors printed per record


class RecordError(Exception):
    pass


def no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise RecordError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def no_constants(name):
    raise RecordError(f"non-JSON number {name}")


def parse(data):
    """Strict JSON from bytes: RFC 8259 UTF-8, unique keys, finite numbers."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordError(f"not UTF-8: {e}") from None
    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except json.JSONDecodeError as e:
        raise RecordError(f"not JSON: {e}") from None


def contract_errors(rec):
    """What the schema cannot say (it is stated in the schema's description)."""
    errs = []
    if not isinstance(rec, dict):
        return errs
    station, seq, rid = rec.get("station"), rec.get("seq"), rec.get("id")
    if isinstance(station, str) and isinstance(seq, int) and isinstance(rid, str):
        want = f"{station}-{seq:010d}"
        if rid != want:
            errs.append(f"id {rid!r} is not station-seq {want!r}")
    if rec.get("kind") == "void" and rec.get("voids") is not None and rec.get("voids") == rid:
        errs.append("a void record voids itself")
    return errs


def check(validator, data):
    """Return a list of reasons the record is invalid (empty when valid)."""
    try:
        rec = parse(data)
    except RecordError as e:
        return [str(e)]
    errs = []
    for e in sorted(validator.iter_errors(rec), key=lambda e: list(e.absolute_path)):
        where = "/" + "/".join(str(p) for p in e.absolute_path)
        errs.append(f"{where}: {e.message}")
    return errs + contract_errors(rec)


def inputs(args):
    """Yield (name, bytes) for every record given."""
    for path in args.jsonl or []:
        with open(path, "rb") as f:
            for lineno, line in enumerate(f, 1):
                if line.strip():
                    yield f"{path}:{lineno}", line.rstrip(b"\r\n")
    for path in args.files:
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if n.endswith(".json"))
            paths = [os.path.join(path, n) for n in names]
        else:
            paths = [path]
        for p in paths:
            with open(p, "rb") as f:
                yield p, f.read()


def make_validator(schema_path=DEFAULT_SCHEMA):
    """The schema's validator, with date-time format checking that works on Debian."""
    with open(schema_path, "rb") as f:
        schema = json.loads(f.read().decode("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    # jsonschema checks "date-time" only when the rfc3339-validator module is installed, which
    # Debian does not package: check it here so Feb 30 is rejected on every machine.
    checker = jsonschema.FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value):
        if not isinstance(value, str):
            return True
        if not (value.endswith("Z") or value[-6] in "+-"):
            raise ValueError("no time zone")
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    validator = cls(schema, format_checker=checker)
    return validator


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schema", default=DEFAULT_SCHEMA, help="schema file")
    ap.add_argument("--jsonl", action="append", metavar="FILE", help="JSON-lines file of records")
    ap.add_argument("--expect-invalid", action="store_true",
                    help="every record must be rejected (negative fixtures)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print why each record was rejected")
    ap.add_argument("files", nargs="*", metavar="FILE.json|DIR")
    args = ap.parse_args()

    validator = make_validator(args.schema)

    passed = failed = 0
    for name, data in inputs(args):
        errs = check(validator, data)
        if args.expect_invalid:
            ok = bool(errs)
            if not ok:
                print(f"FAIL {name}: accepted, but must be rejected")
            elif args.verbose:
                print(f"ok   {name}: rejected: {errs[0]}")
        else:
            ok = not errs
            if not ok:
                print(f"FAIL {name}:")
                for e in errs[:MAX_REASONS]:
                    print(f"     {e}")
                if len(errs) > MAX_REASONS:
                    print(f"     ... {len(errs) - MAX_REASONS} more")
        if ok:
            passed += 1
        else:
            failed += 1

    print(f"schema: {passed} passed, {failed} failed")
    if passed + failed == 0:
        print("schema: no records given", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
