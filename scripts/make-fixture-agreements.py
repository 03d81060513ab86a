#!/usr/bin/env python3
"""Writes the signed sample agreements of the reference partners' fixtures.

  .venv/bin/python scripts/make-fixture-agreements.py [SHARED_BENCH_DIR]

Signing uses the shared, independent eddsa-jcs-2022 implementation (didata.py: PyNaCl + jcs).
The keys are FIXTURE KEYS derived from public seed phrases (SHA-256 of "causeway fixture key: NAME"):
anyone can recompute them, so they must never sign anything real. partner.yaml lists their DIDs.
Ed25519 is deterministic, so running this again reproduces the committed files byte for byte.
"""
import copy, hashlib, json, os, sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "bench"))
import didata  # noqa: E402
import jcs  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402


def key(name):
    return SigningKey(hashlib.sha256(f"causeway fixture key: {name}".encode()).digest())


KEYS = {n: key(n) for n in ["konepaja/buyer", "stahlteile/seller", "stahlteile/seller-agent",
                             "nordic-fasteners/seller", "nordic-fasteners/seller-agent"]}
DID = {n: didata.did_key(k.verify_key) for n, k in KEYS.items()}


def proof_with(document, signer, created, extra):
    config = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "created": created,
              "verificationMethod": didata.verification_method(didata.did_key(signer.verify_key)),
              "proofPurpose": "assertionMethod", **extra}
    body = {k: v for k, v in document.items() if k != "proof"}
    data = hashlib.sha256(jcs.canonicalize(config)).digest() + hashlib.sha256(jcs.canonicalize(body)).digest()
    return dict(config, proofValue="z" + didata.b58encode(signer.sign(data).signature))


def delegation(org, agent, counterparty, limit, currency):
    cred = {"type": "DelegationCredential", "v": 1, "id": f"urn:uuid:{hashlib.sha256(agent.encode()).hexdigest()[:8]}-0000-4000-8000-000000000001",
            "issuer": DID[org], "agent": DID[agent], "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2036-01-01T00:00:00Z",
            "scope": {"roles": ["seller"], "agreementTypes": ["PurchaseAgreement"], "counterparties": [DID[counterparty]],
                      "maxTotal": {"amount": limit, "currency": currency}}}
    cred["proof"] = didata.make_proof(cred, KEYS[org], "2026-01-01T00:00:00Z")
    return cred


def agreement(partner, number, lines, currency, delivery=True, seller_name=None, seller_vat=None):
    from decimal import Decimal
    total = sum(Decimal(l["quantity"]) * Decimal(l["unitPrice"]) for l in lines)
    doc = {
        "type": "PurchaseAgreement",
        "id": f"urn:uuid:{hashlib.sha256(f'{partner}/{number}'.encode()).hexdigest()[:8]}-4b7a-4c1e-9a51-{number:012d}",
        "parties": {"buyer": {"id": DID["konepaja/buyer"], "name": "Konepaja Oy", "vatId": "FI12345678"},
                    "seller": {"id": DID[f"{partner}/seller"], "name": seller_name, "vatId": seller_vat}},
        "issued": f"2026-11-{10 + number:02d}T09:30:00+02:00",
        "currency": currency,
        "lines": lines,
        "total": f"{total:.2f}" if total == total.quantize(Decimal('0.01')) else str(total),
        "payment": {"terms": "NET30"},
    }
    if delivery:
        doc["delivery"] = {"incoterm": "DAP" if partner == "stahlteile" else "FCA",
                           "place": "Tampere, FI" if partner == "stahlteile" else "Göteborg, SE",
                           "date": f"2026-12-{10 + number:02d}"}
    return doc


def sign(doc, partner, agent=False, limit="50000.00"):
    created = doc["issued"]
    if agent:
        cred = delegation(f"{partner}/seller", f"{partner}/seller-agent", "konepaja/buyer", limit, doc["currency"])
        seller_proof = proof_with(doc, KEYS[f"{partner}/seller-agent"], created, {"delegation": cred})
    else:
        seller_proof = didata.make_proof(doc, KEYS[f"{partner}/seller"], created)
    return dict(doc, proof=[seller_proof, didata.make_proof(doc, KEYS["konepaja/buyer"], created)])


def line(sku, description, quantity, unit, price):
    return {"sku": sku, "description": description, "quantity": quantity, "unit": unit, "unitPrice": price}


def write(partner, name, doc):
    path = os.path.join(root, "Mappings", partner, "fixtures", "agreements", name + ".json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)
        f.write("\n")


S = dict(seller_name="Stahlteile GmbH", seller_vat="DE123456789")
write("stahlteile", "one-line", sign(agreement("stahlteile", 1, [
    line("STL-6205-2RS", "Rillenkugellager 6205-2RS, abgedichtet", "200", "pcs", "7.85")], "EUR", **S), "stahlteile"))
write("stahlteile", "multi-line", sign(agreement("stahlteile", 2, [
    line("STL-6205-2RS", "Deep groove ball bearing 6205-2RS", "400", "pcs", "7.60"),
    line("STL-6206-2RS", "Rillenkugellager 6206-2RS, abgedichtet", "150", "pcs", "9.95"),
    line("STL-51105", "Axial-Rillenkugellager 51105", "60", "pcs", "12.10"),
    line("STL-NU205", "Zylinderrollenlager NU205", "24", "pcs", "31.20")], "EUR", **S), "stahlteile"))
write("stahlteile", "unicode-descriptions", sign(agreement("stahlteile", 3, [
    line("STL-NU205", "Zylinderrollenlager NU205 — Käfig aus Messing «Serie B»", "10", "pcs", "31.20"),
    line("STL-51105", "Axial-Rillenkugellager 51105 ☑ 推力球轴承 „geprüft“", "5", "pcs", "12.10")], "EUR", **S), "stahlteile"))
write("stahlteile", "kilograms", sign(agreement("stahlteile", 4, [
    line("STL-22205-E", "Pendelrollenlager 22205-E, Fett lose (Gebinde)", "2.5", "kg", "18.47"),
    line("STL-22205-E", "Pendelrollenlager 22205-E, Fett Nachfüllpack", "0.25", "kg", "18.46"),
    line("STL-6205-2RS", "Rillenkugellager 6205-2RS", "12", "pcs", "7.85")], "EUR", **S), "stahlteile"))
write("stahlteile", "no-delivery", sign(agreement("stahlteile", 5, [
    line("STL-6206-2RS", "Rillenkugellager 6206-2RS", "20", "pcs", "9.95")], "EUR", delivery=False, **S), "stahlteile"))
write("stahlteile", "delegated-agent", sign(agreement("stahlteile", 6, [
    line("STL-6205-2RS", "Rillenkugellager 6205-2RS", "100", "pcs", "7.85"),
    line("STL-22205-E", "Pendelrollenlager 22205-E", "4", "kg", "18.40")], "EUR", **S), "stahlteile", agent=True))
write("stahlteile", "unknown-sku", sign(agreement("stahlteile", 7, [
    line("STL-6205-2RS", "Rillenkugellager 6205-2RS", "10", "pcs", "7.85"),
    line("STL-99999-X", "Sonderlager (nicht im Katalog)", "2", "pcs", "120.00")], "EUR", **S), "stahlteile"))
write("stahlteile", "limit-exceeded", sign(agreement("stahlteile", 8, [
    line("STL-NU205", "Zylinderrollenlager NU205", "9000", "pcs", "31.20")], "EUR", **S), "stahlteile"))
write("stahlteile", "wrong-currency", sign(agreement("stahlteile", 9, [
    line("STL-6205-2RS", "Rillenkugellager 6205-2RS", "10", "pcs", "7.85")], "SEK", **S), "stahlteile"))

def digest(doc):
    return "sha256:" + hashlib.sha256(jcs.canonicalize({k: v for k, v in doc.items() if k != "proof"})).hexdigest()


def revision(partner, previous, original, version, issued, lines=None, delivery=None, reason=None, cancel=False):
    """A PurchaseAgreementChange (complete new terms) or PurchaseAgreementCancellation following `previous`."""
    from decimal import Decimal
    body = {k: v for k, v in previous.items() if k != "proof"}
    doc = {"type": "PurchaseAgreementCancellation" if cancel else "PurchaseAgreementChange",
           "id": "urn:uuid:" + hashlib.sha256(f"{partner}/{body['id']}/v{version}".encode()).hexdigest()[:8] + f"-4b7a-4c1e-9a51-{version:012d}",
           "amends": digest(original), "supersedes": digest(previous), "version": version,
           "parties": body["parties"], "issued": issued}
    if cancel:
        doc["reason"] = reason
    else:
        lines = lines if lines is not None else body["lines"]
        total = sum(Decimal(l["quantity"]) * Decimal(l["unitPrice"]) for l in lines)
        doc.update(currency=body["currency"], lines=lines,
                   total=f"{total:.2f}" if total == total.quantize(Decimal('0.01')) else str(total))
        if delivery or "delivery" in body:
            doc["delivery"] = delivery or body["delivery"]
        if "payment" in body:
            doc["payment"] = body["payment"]
        if reason:
            doc["reason"] = reason
    return doc


def sign_revision(doc, partner, signers=("seller", "buyer")):
    keys = {"seller": KEYS[f"{partner}/seller"], "buyer": KEYS["konepaja/buyer"]}
    return dict(doc, proof=[didata.make_proof(doc, keys[role], doc["issued"]) for role in signers])


# Changes and cancellations of the multi-line agreements: version 2 changes quantities and prices,
# drops a line and adds one; version 3 cancels (the buyer alone).
stahl_v1 = json.load(open(os.path.join(root, "Mappings", "stahlteile", "fixtures", "agreements", "multi-line.json"), encoding="utf-8"))
stahl_v2 = sign_revision(revision("stahlteile", stahl_v1, stahl_v1, 2, "2026-11-20T08:00:00+02:00", lines=[
    line("STL-6205-2RS", "Deep groove ball bearing 6205-2RS", "450", "pcs", "7.55"),
    line("STL-51105", "Axial-Rillenkugellager 51105", "80", "pcs", "11.90"),
    line("STL-NU205", "Zylinderrollenlager NU205", "24", "pcs", "31.20"),
    line("STL-22205-E", "Pendelrollenlager 22205-E, Fett lose", "3.5", "kg", "18.40")],
    delivery={"incoterm": "DAP", "place": "Tampere, FI", "date": "2026-12-19"}, reason="more bearings, 6206 no longer needed"),
    "stahlteile")
write("stahlteile", "multi-line.v2-change", stahl_v2)
write("stahlteile", "multi-line.v3-cancel", sign_revision(revision("stahlteile", stahl_v2, stahl_v1, 3, "2026-11-21T08:00:00+02:00",
                                                                   reason="project postponed", cancel=True), "stahlteile", ("buyer",)))

N = dict(seller_name="Nordic Fasteners AB", seller_vat="SE556677889901")
write("nordic-fasteners", "one-line", sign(agreement("nordic-fasteners", 1, [
    line("NF-M8X40-A2", "Sechskantschraube M8×40, A2-70", "500", "pcs", "1.35")], "SEK", **N), "nordic-fasteners"))
write("nordic-fasteners", "multi-line", sign(agreement("nordic-fasteners", 2, [
    line("NF-M8X40-A2", "Sechskantschraube M8×40, A2-70", "1000", "pcs", "1.30"),
    line("NF-M10X60-A4", "Sexkantskruv M10x60 A4-80 «rostfri»", "400", "pcs", "4.85"),
    line("NF-NUT-M10", "Låsmutter M10 — nylon, klass 8", "400", "pcs", "0.95")], "SEK", **N), "nordic-fasteners"))
write("nordic-fasteners", "unicode-descriptions", sign(agreement("nordic-fasteners", 3, [
    line("NF-WASH-M8", "Bricka M8 (DIN 125), förzinkad — ÅÄÖ åäö ✓", "2000", "pcs", "0.12"),
    line("NF-NUT-M10", "Låsmutter M10 <nylon> & \"klass 8\"", "100", "pcs", "0.95")], "SEK", **N), "nordic-fasteners"))
write("nordic-fasteners", "kilograms", sign(agreement("nordic-fasteners", 4, [
    line("NF-WASH-M8", "Bricka M8 (DIN 125), förzinkad, lösvikt", "12.5", "kg", "86.40"),
    line("NF-WASH-M8", "Bricka M8 (DIN 125), förzinkad, småpack", "0.75", "kg", "92.00")], "SEK", **N), "nordic-fasteners"))
write("nordic-fasteners", "delegated-agent", sign(agreement("nordic-fasteners", 5, [
    line("NF-M10X60-A4", "Sexkantskruv M10x60 A4-80", "200", "pcs", "4.85")], "SEK", **N), "nordic-fasteners", agent=True,
    limit="500000.00"))
write("nordic-fasteners", "unknown-sku", sign(agreement("nordic-fasteners", 6, [
    line("NF-M12X80-A4", "Sexkantskruv M12x80 A4-80 (ny artikel)", "50", "pcs", "7.40")], "SEK", **N), "nordic-fasteners"))
write("nordic-fasteners", "limit-exceeded", sign(agreement("nordic-fasteners", 7, [
    line("NF-M10X60-A4", "Sexkantskruv M10x60 A4-80", "600000", "pcs", "4.85")], "SEK", **N), "nordic-fasteners"))

# A change and a cancellation of the nordic multi-line agreement. Tryton cannot add a product to a
# confirmed purchase, so version 2 only changes: more M8 bolts at a lower price, the M10 nuts dropped.
# Version 3 cancels; partner.yaml wants both signatures on a cancellation.
nordic_v1 = json.load(open(os.path.join(root, "Mappings", "nordic-fasteners", "fixtures", "agreements", "multi-line.json"), encoding="utf-8"))
nordic_v2 = sign_revision(revision("nordic-fasteners", nordic_v1, nordic_v1, 2, "2026-11-20T10:00:00+01:00", lines=[
    line("NF-M8X40-A2", "Sechskantschraube M8×40, A2-70", "1200", "pcs", "1.25"),
    line("NF-M10X60-A4", "Sexkantskruv M10x60 A4-80 «rostfri»", "400", "pcs", "4.85")],
    reason="fler M8-skruvar; M10-muttrar köps lokalt"), "nordic-fasteners")
write("nordic-fasteners", "multi-line.v2-change", nordic_v2)
write("nordic-fasteners", "multi-line.v3-cancel", sign_revision(revision("nordic-fasteners", nordic_v2, nordic_v1, 3,
                                                                         "2026-11-21T10:00:00+01:00", reason="projektet är uppskjutet",
                                                                         cancel=True), "nordic-fasteners"))

print(json.dumps(DID, indent=2))
