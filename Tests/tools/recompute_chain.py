#!/usr/bin/env python3
"""Independent verifier of Vigil's audit hash chain (docs/audit-format.md).

Uses only the standard library and the `rfc8785` package (RFC 8785, JSON Canonicalization Scheme),
so it shares no code with Vigil.

    recompute_chain.py EXPORT.jsonl
        Each line: {"chain_seq": n, "prev_hash": "<hex>", "hash": "<hex>", "entry": {...}}, in any
        key order and any line order. Checks chain_seq runs 1..N without gaps, each prev_hash is the
        previous hash (the first is 64 zeros), and hash = SHA-256(prev_hash ‖ RFC 8785(entry)).
        Prints `head <hex> entries <N>` and exits 0, or names the first failure and exits 1.

    recompute_chain.py --doc docs/audit-format.md
        Checks the worked example of the format document: each `worked-entry-N` block
        canonicalises to exactly its `worked-canonical-N` block, and each `worked-hash-N` block
        holds the right prev_hash and hash. Prints `doc ok <hash of last entry>` and exits 0, or
        explains and exits 1.

Exit 2 is a usage error (argparse).
"""

import argparse
import hashlib
import json
import re
import sys

import rfc8785

ZERO_HASH = "00" * 32
INTEGER_LIMIT = 2**53 - 1
HEX64 = re.compile(r"[0-9a-f]{64}")


class Failure(Exception):
    """A check failed; the message is printed as one line."""


def reject_duplicate_keys(pairs):
    members = {}
    for name, value in pairs:
        if name in members:
            raise ValueError(f"duplicate member name {name!r}")
        members[name] = value
    return members


def parse_json(text):
    return json.loads(text, object_pairs_hook=reject_duplicate_keys)


def subset_violation(value, pointer=""):
    """Why `value` is outside the hashed subset (docs/audit-format.md §1), or None."""
    where = pointer or "/"
    if value is None:
        return f"{where}: null is not allowed (an absent value is an omitted key)"
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if abs(value) > INTEGER_LIMIT:
            return f"{where}: integer {value} is outside ±(2^53 - 1)"
        return None
    if isinstance(value, float):
        return f"{where}: fractional number {value!r} is not allowed (decimals are strings)"
    if isinstance(value, str):
        if "\x00" in value:
            return f"{where}: U+0000 is not allowed"
        if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
            return f"{where}: lone surrogate in string"
        return None
    if isinstance(value, list):
        for index, element in enumerate(value):
            problem = subset_violation(element, f"{pointer}/{index}")
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for name, member in value.items():
            if any(0xD800 <= ord(ch) <= 0xDFFF for ch in name):
                return f"{where}: lone surrogate in member name"
            escaped = name.replace("~", "~0").replace("/", "~1")
            problem = subset_violation(member, f"{pointer}/{escaped}")
            if problem:
                return problem
        return None
    return f"{where}: {type(value).__name__} is not a JSON value"


def entry_hash(prev_hash_hex, entry):
    return hashlib.sha256(bytes.fromhex(prev_hash_hex) + rfc8785.dumps(entry)).hexdigest()


# --- export mode -------------------------------------------------------------------------------

def read_export(path):
    records = []
    with open(path, "r", encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = parse_json(line)
            except ValueError as error:
                raise Failure(f"line {line_number}: not valid JSON: {error}")
            if not isinstance(record, dict):
                raise Failure(f"line {line_number}: not a JSON object")
            missing = [key for key in ("chain_seq", "prev_hash", "hash", "entry") if key not in record]
            if missing:
                raise Failure(f"line {line_number}: missing {', '.join(missing)}")
            seq = record["chain_seq"]
            if isinstance(seq, bool) or not isinstance(seq, int):
                raise Failure(f"line {line_number}: chain_seq is not an integer")
            if not isinstance(record["entry"], dict):
                raise Failure(f"line {line_number}: chain_seq {seq}: entry is not a JSON object")
            for key in ("prev_hash", "hash"):
                if not isinstance(record[key], str) or not HEX64.fullmatch(record[key]):
                    raise Failure(f"line {line_number}: chain_seq {seq}: {key} is not 64 lowercase hex digits")
            records.append(record)
    return records


def verify_export(path):
    records = sorted(read_export(path), key=lambda record: record["chain_seq"])
    previous = ZERO_HASH
    previous_seq = None
    for expected_seq, record in enumerate(records, 1):
        seq = record["chain_seq"]
        entry = record["entry"]
        entry_id = entry.get("id", "?")
        where = f"chain_seq {seq} entry id {entry_id}"
        if seq == previous_seq:
            raise Failure(f"mismatch at {where}: chain_seq {seq} appears more than once")
        if seq != expected_seq:
            raise Failure(f"mismatch at {where}: expected chain_seq {expected_seq} (chain_seq {expected_seq} is missing)")
        previous_seq = seq
        if record["prev_hash"] != previous:
            raise Failure(f"mismatch at {where}: prev_hash {record['prev_hash']} is not the previous hash {previous}")
        problem = subset_violation(entry)
        if problem:
            raise Failure(f"mismatch at {where}: entry outside the hashed subset: {problem}")
        recomputed = entry_hash(record["prev_hash"], entry)
        if recomputed != record["hash"]:
            raise Failure(f"mismatch at {where}: hash {record['hash']} but recomputed {recomputed}")
        previous = record["hash"]
    return f"head {previous} entries {len(records)}"


# --- doc mode ----------------------------------------------------------------------------------

BLOCK = re.compile(r"^```(json|text) (worked-(?:entry|canonical|hash)-\d+)\n(.*?)\n```$", re.MULTILINE | re.DOTALL)
HASH_LINES = re.compile(r"prev_hash ([0-9a-f]{64})\nhash ([0-9a-f]{64})")


def verify_doc(path):
    with open(path, "r", encoding="utf-8") as handle:
        text = handle.read()
    blocks = {}
    for match in BLOCK.finditer(text):
        info, name, body = match.groups()
        expected_info = "json" if name.startswith("worked-entry-") else "text"
        if info != expected_info:
            raise Failure(f"block {name} has info string `{info} {name}`, expected `{expected_info} {name}`")
        if name in blocks:
            raise Failure(f"block {name} appears more than once")
        blocks[name] = body
    count = 0
    while f"worked-entry-{count + 1}" in blocks:
        count += 1
    if count == 0:
        raise Failure("no ```json worked-entry-1``` block found")
    for name in blocks:
        number = int(name.rsplit("-", 1)[1])
        if not 1 <= number <= count:
            raise Failure(f"block {name} has no matching worked-entry-{number} (entries run 1..{count})")

    previous = ZERO_HASH
    for number in range(1, count + 1):
        for kind in ("canonical", "hash"):
            if f"worked-{kind}-{number}" not in blocks:
                raise Failure(f"entry {number}: block worked-{kind}-{number} is missing")
        try:
            entry = parse_json(blocks[f"worked-entry-{number}"])
        except ValueError as error:
            raise Failure(f"entry {number}: worked-entry-{number} is not valid JSON: {error}")
        if not isinstance(entry, dict):
            raise Failure(f"entry {number}: worked-entry-{number} is not a JSON object")
        problem = subset_violation(entry)
        if problem:
            raise Failure(f"entry {number}: outside the hashed subset: {problem}")
        canonical = rfc8785.dumps(entry)
        shown = blocks[f"worked-canonical-{number}"].encode("utf-8")
        if shown != canonical:
            at = next((i for i, (a, b) in enumerate(zip(shown, canonical)) if a != b), min(len(shown), len(canonical)))
            raise Failure(
                f"entry {number}: worked-canonical-{number} differs from RFC 8785 of worked-entry-{number} "
                f"at byte {at} (shown {len(shown)} bytes, canonical {len(canonical)} bytes): "
                f"shown {shown[at:at + 40]!r}, canonical {canonical[at:at + 40]!r}"
            )
        lines = HASH_LINES.fullmatch(blocks[f"worked-hash-{number}"])
        if not lines:
            raise Failure(f"entry {number}: worked-hash-{number} must be exactly `prev_hash <64 hex>` and `hash <64 hex>` lines")
        prev_hash, shown_hash = lines.groups()
        if prev_hash != previous:
            what = "64 zeros (first entry)" if number == 1 else f"the hash of entry {number - 1}, {previous}"
            raise Failure(f"entry {number}: prev_hash {prev_hash} should be {what}")
        recomputed = entry_hash(prev_hash, entry)
        if recomputed != shown_hash:
            raise Failure(f"entry {number}: hash {shown_hash} but recomputed {recomputed}")
        previous = shown_hash
    return f"doc ok {previous}"


def main():
    parser = argparse.ArgumentParser(description="Recompute Vigil's audit hash chain independently.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("export", nargs="?", help="JSON Lines export: chain_seq, prev_hash, hash, entry")
    group.add_argument("--doc", metavar="FORMAT_MD", help="check the worked example in docs/audit-format.md")
    arguments = parser.parse_args()
    try:
        if arguments.doc:
            print(verify_doc(arguments.doc))
        else:
            print(verify_export(arguments.export))
    except Failure as failure:
        print(failure)
        return 1
    except OSError as error:
        print(f"cannot read input: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
