#!/usr/bin/env python3
"""Signs test agreements with an implementation independent of Causeway's Swift code.

It uses the shared benchmark peer's did:key + eddsa-jcs-2022 module (PyNaCl + the `jcs`
package), so that the CLI tests check Causeway against another conforming signer.

  independent_signer.py SHARED_BENCH_DIR OUT_DIR

Writes into OUT_DIR: valid.json, tampered-total.json, tampered-line.json, one-party.json,
wrong-key.json, delegated.json, delegated-over-limit.json, malformed.json, dids.json.
"""
import copy, json, os, sys

sys.path.insert(0, sys.argv[1])
import didata  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402
import hashlib  # noqa: E402
import jcs  # noqa: E402

out = sys.argv[2]
os.makedirs(out, exist_ok=True)
seller, buyer, agent, stranger = (SigningKey(bytes([n]) * 32) for n in (11, 12, 13, 14))
did = {name: didata.did_key(k.verify_key) for name, k in
       dict(seller=seller, buyer=buyer, agent=agent, stranger=stranger).items()}


def agreement(seller_did=did["seller"]):
    return {
        "type": "PurchaseAgreement",
        "id": "urn:uuid:7f1c0d2e-4b7a-4c1e-9a51-2d3f0e6b8c11",
        "parties": {"buyer": {"id": did["buyer"], "name": "Konepaja Oy"},
                    "seller": {"id": seller_did, "name": "Stahlteile GmbH"}},
        "issued": "2026-11-20T09:30:00Z",
        "currency": "EUR",
        "lines": [
            {"sku": "STL-6205-2RS", "description": "Rillenkugellager 6205-2RS", "quantity": "200", "unit": "pcs",
             "unitPrice": "7.85"},
            {"sku": "STL-22205-E", "description": "Pendelrollenlager «Serie B» — Fett", "quantity": "12.5", "unit": "kg",
             "unitPrice": "18.40"},
        ],
        "total": "1800.00",
        "delivery": {"incoterm": "DAP", "place": "Tampere, FI", "date": "2026-12-15"},
        "payment": {"terms": "NET30"},
    }


def write(name, doc):
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)


def proof_with(document, key, created, extra):
    """An eddsa-jcs-2022 proof carrying extra members, signed here (not by didata.make_proof)."""
    config = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "created": created,
              "verificationMethod": didata.verification_method(didata.did_key(key.verify_key)),
              "proofPurpose": "assertionMethod", **extra}
    body = {k: v for k, v in document.items() if k != "proof"}
    data = hashlib.sha256(jcs.canonicalize(config)).digest() + hashlib.sha256(jcs.canonicalize(body)).digest()
    return dict(config, proofValue="z" + didata.b58encode(key.sign(data).signature))


def credential(limit="50000.00", currency="EUR", issuer_key=seller, valid_until="2036-01-01T00:00:00Z"):
    cred = {"type": "DelegationCredential", "v": 1, "id": "urn:uuid:3c1b9f0e-0000-4000-8000-000000000001",
            "issuer": did["seller"], "agent": did["agent"],
            "validFrom": "2026-01-01T00:00:00Z", "validUntil": valid_until,
            "scope": {"roles": ["seller"], "agreementTypes": ["PurchaseAgreement"], "counterparties": [did["buyer"]],
                      "maxTotal": {"amount": limit, "currency": currency}}}
    cred["proof"] = didata.make_proof(cred, issuer_key, "2026-01-01T00:00:00Z")
    return cred


created = "2026-11-20T09:31:00Z"
valid = didata.sign_set(agreement(), [(seller, created), (buyer, created)])
write("valid.json", valid)

tampered = copy.deepcopy(valid)
tampered["total"] = "1900.00"
write("tampered-total.json", tampered)

tampered_line = copy.deepcopy(valid)
tampered_line["lines"][0]["quantity"] = "2000"
write("tampered-line.json", tampered_line)

write("one-party.json", didata.sign_set(agreement(), [(buyer, created)]))
write("wrong-key.json", didata.sign_set(agreement(), [(stranger, created), (buyer, created)]))

# An agent signs for the seller with a delegation credential inside its proof.
doc = agreement()
delegated = dict(doc, proof=[proof_with(doc, agent, created, {"delegation": credential()}),
                            didata.make_proof(doc, buyer, created)])
write("delegated.json", delegated)

doc = agreement()
over = dict(doc, proof=[proof_with(doc, agent, created, {"delegation": credential(limit="1000.00")}),
                        didata.make_proof(doc, buyer, created)])
write("delegated-over-limit.json", over)

with open(os.path.join(out, "malformed.json"), "w") as f:
    f.write(json.dumps(valid)[:-40])

write("dids.json", did)
