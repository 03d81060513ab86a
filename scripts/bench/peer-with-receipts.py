#!/usr/bin/env python3
"""The shared bench's peer.py with the gateway's guarantees added, written the straightforward way:
for each signed agreement, one transaction that verifies it (peer.check), stores the agreement
durably, writes the purchase order and its lines with provenance (peer.write itself, inside this
transaction), signs an eddsa-jcs-2022 receipt for the delivery and appends it to a hash-chained
ledger (the chain's head locked last, until the commit). A second baseline for
`causeway bench gateway --receipts-peer`: what a user would get writing the gateway's work
themselves, one agreement per transaction, with the ERP in the same database (which the gateway
cannot assume: its ERP is another system, hence its outbox and attempts).

  peer-with-receipts.py --bench-folder ../shared/bench --dsn postgresql://… --input agreements.jsonl [--workers N]

Prints one line: 'peer-with-receipts: N agreements in S s = R agreements/s'.
Needs the staging schema in the database (the bench applies ../shared/bench/staging.sql) and
pynacl, jcs and psycopg; it creates its own tables (peer_agreements, peer_ledger, peer_ledger_head).
"""
import argparse, contextlib, datetime, hashlib, json, multiprocessing, sys, time

SCHEMA = """
CREATE TABLE IF NOT EXISTS peer_agreements (digest text PRIMARY KEY, agreement_id text NOT NULL,
  document text NOT NULL, received_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS peer_ledger (seq bigint PRIMARY KEY, digest text NOT NULL UNIQUE,
  prev text NOT NULL UNIQUE, hash text NOT NULL UNIQUE, receipt text NOT NULL);
CREATE TABLE IF NOT EXISTS peer_ledger_head (one boolean PRIMARY KEY DEFAULT true CHECK (one),
  seq bigint NOT NULL, hash text NOT NULL);
INSERT INTO peer_ledger_head VALUES (true, 0, repeat('0', 64)) ON CONFLICT DO NOTHING;
"""


class InsideTransaction:
    """The connection as peer.write sees it here: its `transaction()` block is this script's
    transaction (no savepoint of its own), and the order id its insert returns is kept for the
    receipt."""

    def __init__(self, conn):
        self.conn = conn
        self.returned = None

    def transaction(self):
        return contextlib.nullcontext()

    def execute(self, query, params=None):
        return Returned(self, self.conn.execute(query, params))

    def cursor(self):
        return self.conn.cursor()


class Returned:
    def __init__(self, owner: InsideTransaction, cursor):
        self.owner, self.cursor = owner, cursor

    def fetchone(self):
        row = self.cursor.fetchone()
        if row is not None and self.owner.returned is None:
            self.owner.returned = row[0]
        return row


def deliver(conn, peer, didata, jcs, key, issuer: str, line: str) -> None:
    doc = json.loads(line)
    digest = peer.check(doc)
    with conn.transaction():
        stored = conn.execute(
            "INSERT INTO peer_agreements (digest, agreement_id, document) VALUES (%s,%s,%s) ON CONFLICT DO NOTHING RETURNING digest",
            (digest, doc["id"], line)).fetchone()
        if stored is None:
            return  # delivered before: its receipt is in the ledger
        inside = InsideTransaction(conn)
        peer.write(inside, doc, digest)  # the order and its lines, with provenance: peer.py's own statements
        issued = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        receipt = {"type": "DeliveryReceipt", "issuer": issuer, "agreement": digest, "agreementId": doc["id"],
                   "legacy": {"table": "erp_purchase_order", "po_id": inside.returned}, "issued": issued}
        receipt["proof"] = didata.make_proof(receipt, key, issued)
        signed = jcs.canonicalize(receipt)
        # The chain's head last: held from here to the commit, as short as one agreement allows.
        seq, prev = conn.execute("SELECT seq, hash FROM peer_ledger_head FOR UPDATE").fetchone()
        link = hashlib.sha256(bytes.fromhex(prev) + hashlib.sha256(signed).digest()).hexdigest()
        conn.execute("INSERT INTO peer_ledger (seq, digest, prev, hash, receipt) VALUES (%s,%s,%s,%s,%s)",
                     (seq + 1, digest, prev, link, signed.decode()))
        conn.execute("UPDATE peer_ledger_head SET seq = %s, hash = %s", (seq + 1, link))


def run(args: tuple) -> int:
    bench_folder, dsn, seed, lines = args
    sys.path.insert(0, bench_folder)
    import jcs, psycopg
    import didata, peer
    from nacl.signing import SigningKey
    key = SigningKey(bytes.fromhex(seed))
    issuer = didata.did_key(key.verify_key)
    with psycopg.connect(dsn) as conn:
        for line in lines:
            deliver(conn, peer, didata, jcs, key, issuer, line)
    return len(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-folder", required=True)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    import psycopg
    from nacl.signing import SigningKey
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
    seed = bytes(SigningKey.generate()).hex()
    lines = open(args.input, encoding="utf-8").read().splitlines()
    chunks = [lines[i::args.workers] for i in range(args.workers)]
    start = time.perf_counter()
    if args.workers == 1:
        done = run((args.bench_folder, args.dsn, seed, lines))
    else:
        with multiprocessing.Pool(args.workers) as pool:
            done = sum(pool.map(run, [(args.bench_folder, args.dsn, seed, c) for c in chunks]))
    elapsed = time.perf_counter() - start
    print(f"peer-with-receipts: {done} agreements in {elapsed:.2f} s = {done / elapsed:.0f} agreements/s")


if __name__ == "__main__":
    main()
