#!/usr/bin/env python3
"""jsonl-ledger: an example Causeway adapter in Python (external-process protocol 1).

Appends every delivered action to a JSON-lines ledger file, one object per line, and is
idempotent by the delivery's idempotency key: a key already in the ledger is answered with the
reference it got the first time, and `lookup` finds it. Python 3 standard library only.

Configuration (causeway.yaml):

    targets:
      ledger:
        adapter: process
        command: /usr/bin/python3
        args: /opt/causeway/examples/jsonl-ledger.py
        env: LEDGER_FILE=/var/lib/causeway/ledger.jsonl

The ledger file is named by the LEDGER_FILE environment variable or the first argument.
Each line: {"idempotency_key", "reference", "agreement", "attempt", "action", "provenance"}.
Decimal values stay the exact strings Causeway sent; nothing is converted to float.
"""

import json
import os
import sys

PROTOCOL = 1
NAME = "jsonl-ledger"
VERSION = "1.0.0"
KINDS = ["rows", "http", "xml", "erp-purchase-order"]


def log(message):
    """Standard error goes to Causeway's log."""
    print(f"{NAME}: {message}", file=sys.stderr, flush=True)


def reply(message):
    sys.stdout.write(json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def load(path):
    """The ledger's key -> reference index. A last line cut short by a crash is dropped."""
    index = {}
    if not os.path.exists(path):
        return index
    with open(path, "rb") as f:
        data = f.read()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        log(f"dropping an incomplete last line ({len(data) - len(complete)} bytes)")
        with open(path, "r+b") as f:
            f.truncate(len(complete))
            f.flush()
            os.fsync(f.fileno())
    for number, line in enumerate(complete.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        index[record["idempotency_key"]] = record["reference"]
    return index


def append(path, record):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        f.flush()
        os.fsync(f.fileno())


def main():
    sys.stdin.reconfigure(encoding="utf-8")
    sys.stdout.reconfigure(encoding="utf-8")
    path = os.environ.get("LEDGER_FILE") or (sys.argv[1] if len(sys.argv) > 1 else None)
    if not path:
        log("name the ledger file with LEDGER_FILE or the first argument")
        return 2
    try:
        index = load(path)
    except (OSError, ValueError, KeyError) as error:
        log(f"cannot read the ledger {path}: {error}")
        return 2
    while True:
        line = sys.stdin.readline()
        if not line:
            return 0  # Causeway closed our input: stop.
        if not line.strip():
            continue
        message = json.loads(line)
        kind = message.get("type")
        if kind == "describe":
            reply({"type": "describe", "protocol": PROTOCOL, "name": NAME, "version": VERSION, "kinds": KINDS})
        elif kind == "deliver":
            key = message["idempotency_key"]
            if key in index:
                reply({"id": message["id"], "outcome": "delivered", "reference": index[key]})
                continue
            action = message["action"]
            reference = {"system": NAME, "kind": action["kind"], "id": f"L{len(index) + 1}"}
            record = {
                "idempotency_key": key,
                "reference": reference,
                "agreement": {"id": message["agreement"]["id"], "digest": message["agreement"]["digest"]},
                "attempt": message.get("attempt"),
                "action": action,
                "provenance": message.get("provenance"),
            }
            if "revision" in message:
                # A change or cancellation of an agreement delivered earlier: recorded as its own line,
                # which a reader applies over the original's (revision.amends) in version order.
                record["revision"] = message["revision"]
            try:
                append(path, record)
            except OSError as error:
                reply({"id": message["id"], "outcome": "retryable", "reason": f"cannot append to the ledger: {error.strerror}",
                       "retry_after_seconds": 5})
                continue
            index[key] = reference
            reply({"id": message["id"], "outcome": "delivered", "reference": reference})
        elif kind == "lookup":
            key = message["idempotency_key"]
            if key in index:
                reply({"id": message["id"], "found": True, "reference": index[key]})
            else:
                reply({"id": message["id"], "found": False})
        else:
            log(f"ignoring a message of type {kind!r}")


if __name__ == "__main__":
    sys.exit(main())
