#!/usr/bin/env python3
"""Proves, against the test Tryton 8.2, how Causeway's Tryton adapter can amend and cancel a
confirmed purchase, what Tryton answers once the goods were received, and how an applied change
is found again (idempotency). Raw JSON-RPC over urllib — the calls the Swift adapter makes — not
proteus, so every step below translates one to one to TrytonConnection.call.

    eval "$(scripts/tryton-start)"        # purchase_amendment activated, gateway in its group
    python3 scripts/tryton-amendment-probe.py

Reads CAUSEWAY_TEST_TRYTON (…/DATABASE/), CAUSEWAY_TEST_TRYTON_USER and _PASSWORD. Receiving goods
and posting nothing else is the warehouse's work, not the gateway's: that one step logs in as
`admin` (CAUSEWAY_TRYTON_ADMIN_PASSWORD, default the same password, as scripts/tryton-start sets
it). Each run makes new purchases with fresh references (`sha256:probe…/0`); it changes nothing
else. Findings are written up in the report of the task that added this script.
"""

import base64
import gzip
import json
import os
import sys
import urllib.request
import uuid

URL = os.environ.get("CAUSEWAY_TEST_TRYTON", "http://127.0.0.1:58069/causeway/").rstrip("/") + "/rpc/"
USER = os.environ.get("CAUSEWAY_TEST_TRYTON_USER", "gateway")
PASSWORD = os.environ.get("CAUSEWAY_TEST_TRYTON_PASSWORD") or sys.exit("CAUSEWAY_TEST_TRYTON_PASSWORD is not set")
ADMIN_PASSWORD = os.environ.get("CAUSEWAY_TRYTON_ADMIN_PASSWORD", PASSWORD)


class TrytonError(Exception):
    """An `error` member of a JSON-RPC answer: ["UserError", [message, description, domain]]."""

    def __init__(self, error):
        self.error = error
        kind = error[0] if isinstance(error, list) and error else "?"
        details = error[1] if isinstance(error, list) and len(error) > 1 else None
        message = details[0] if kind == "UserError" and isinstance(details, list) else str(details)[:300]
        super().__init__(f"{kind}: {message}")


class Session:
    """common.db.login, then `Authorization: Session base64(login:uid:token)`; every call ends
    with the context {"company": ID} (the user's current company, from get_preferences)."""

    def __init__(self, login, password):
        self.login, self.next_id = login, 0
        uid, token = self.post("common.db.login", [login, {"password": password}, "en"])[:2]
        self.auth = "Session " + base64.b64encode(f"{login}:{uid}:{token}".encode()).decode()
        self.company = self.post("model.res.user.get_preferences", [True, {}])["company"]
        self.context = {"company": self.company}

    def post(self, method, params):
        self.next_id += 1
        body = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip"}
        if getattr(self, "auth", None):
            headers["Authorization"] = self.auth
        with urllib.request.urlopen(urllib.request.Request(URL, body, headers), timeout=60) as response:
            data = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                data = gzip.decompress(data)
        answer = json.loads(data)
        if answer.get("error"):
            raise TrytonError(answer["error"])
        return answer["result"]

    def __call__(self, method, *params, context=None):
        return self.post(method, list(params) + [context or self.context])


def decimal(text):
    return {"__class__": "Decimal", "decimal": text}


def plain(value):
    """Decimal and date objects as text, for printing."""
    if isinstance(value, dict) and value.get("__class__") == "Decimal":
        return value["decimal"]
    if isinstance(value, dict) and value.get("__class__") == "date":
        return f"{value['year']:04}-{value['month']:02}-{value['day']:02}"
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def heading(text):
    print(f"\n=== {text}")


def attempt(label, call, *params, **kwargs):
    """Runs a call that may be refused and prints Tryton's exact answer."""
    try:
        result = call(*params, **kwargs)
        print(f"  {label}: accepted -> {json.dumps(plain(result))}")
        return True
    except TrytonError as error:
        print(f"  {label}: REFUSED {json.dumps(error.error[:2] if isinstance(error.error, list) else error.error, ensure_ascii=False)[:600]}")
        return False


PURCHASE_FIELDS = ["id", "number", "reference", "state", "revision", "shipment_state", "invoice_state",
                   "total_amount", "lines", "moves", "invoices", "amendments"]
LINE_FIELDS = ["id", "product.code", "quantity", "unit", "unit_price", "description", "amount", "moves"]


def show(gw, purchase_id, label="purchase"):
    purchase = gw("model.purchase.purchase.read", [purchase_id], PURCHASE_FIELDS)[0]
    print(f"  {label}: " + json.dumps(plain({k: purchase[k] for k in PURCHASE_FIELDS if k not in ("lines",)})))
    for line in gw("model.purchase.line.read", purchase["lines"], LINE_FIELDS):
        moves = gw("model.stock.move.read", line["moves"], ["state", "quantity", "shipment"]) if line["moves"] else []
        print(f"    line {line['id']}: {line['product.']['code']} qty={line['quantity']} "
              f"unit_price={plain(line['unit_price'])} amount={plain(line['amount'])} "
              f"moves={[(m['state'], m['quantity'], m['shipment']) for m in moves]}")
    if purchase["invoices"]:
        invoices = gw("model.account.invoice.read", purchase["invoices"], ["id", "state", "total_amount"])
        print(f"    supplier invoices: {json.dumps(plain(invoices))}")
    return purchase


class Codes:
    """The ids the adapter resolves by code: party by `code`, products by `code`, units by symbol."""

    def __init__(self, gw):
        party = gw("model.party.party.search_read", [["code", "=", "NF-SE-01"]], 0, 1, None, ["id", "addresses"])[0]
        self.party, self.address = party["id"], party["addresses"][0]
        products = gw("model.product.product.search_read", [["code", "in", ["FAST-M8X40", "FAST-M10X60", "FAST-NUT-M10"]]],
                      0, None, None, ["id", "code", "purchase_uom"])
        self.product = {p["code"]: p["id"] for p in products}
        self.unit = {p["code"]: p["purchase_uom"] for p in products}


def create_confirmed(gw, codes, key, lines, workflow=("quote", "confirm")):
    """As TrytonPurchaseAdapter.perform: create with the key as reference, then quote, confirm."""
    values = {
        "company": gw.company, "party": codes.party, "invoice_address": codes.address,
        "reference": key, "description": "PO-PROBE",
        "lines": [["create", [{"product": codes.product[c], "quantity": q, "unit": codes.unit[c], "unit_price": decimal(p)}
                              for c, q, p in lines]]],
    }
    purchase_id, = gw("model.purchase.purchase.create", [values])
    for step in workflow:
        gw(f"model.purchase.purchase.{step}", [purchase_id])
    return purchase_id


def line_values(gw, purchase_id):
    """The purchase's lines with every field an amendment line must restate."""
    purchase = gw("model.purchase.purchase.read", [purchase_id], ["lines"])[0]
    return gw("model.purchase.line.read", purchase["lines"],
              ["id", "type", "product", "product.code", "product_supplier", "quantity", "unit", "unit_price", "description"])


def amendment_line(line, quantity=None, unit_price=None):
    """An amendment line of action 'line'. Validation copies product, product_supplier, quantity,
    unit, unit_price and description onto the purchase line — ALL of them: one left out is set to
    empty — so the unchanged ones are restated from the line as read."""
    return {
        "action": "line", "line": line["id"],
        "product": line["product"], "product_supplier": line["product_supplier"],
        "quantity": line["quantity"] if quantity is None else quantity,
        "unit": line["unit"],
        "unit_price": line["unit_price"] if unit_price is None else decimal(unit_price),
        "description": line["description"],
    }


def amend(gw, purchase_id, key, lines):
    """One amendment marked with the change's idempotency key, then its validation (two calls)."""
    amendment_id, = gw("model.purchase.amendment.create",
                       [{"purchase": purchase_id, "description": key, "lines": [["create", lines]]}])
    gw("model.purchase.amendment.validate_amendment", [amendment_id])
    return amendment_id


def find_applied(gw, key):
    """The idempotency lookup: amendments whose description is the change's key."""
    return gw("model.purchase.amendment.search_read", [["description", "=", key]], 0, None, [["id", "ASC"]],
              ["id", "state", "date", "description", "purchase", "purchase.reference", "purchase.state", "purchase.revision"])


def main():
    gw = Session(USER, PASSWORD)
    codes = Codes(gw)
    run = uuid.uuid4().hex[:12]
    key = lambda name, n: f"sha256:probe{run}{name}/{n}"  # noqa: E731
    print(f"Tryton at {URL}, user {USER}, company {gw.company}, run {run}")

    # 1. Amend a confirmed purchase.
    heading("1. amend a confirmed purchase (quantity and price, remove a line, add a line)")
    original = key("a", 0)
    pid = create_confirmed(gw, codes, original, [("FAST-M8X40", 5, "10.00"), ("FAST-M10X60", 3, "20.00"), ("FAST-NUT-M10", 2, "4.00")])
    before = show(gw, pid, "after create, quote, confirm")
    lines = line_values(gw, pid)
    change = key("b", 0)
    amendment_id = amend(gw, pid, change, [
        amendment_line(lines[0], quantity=7, unit_price="9.50"),   # quantity and price
        amendment_line(lines[2], quantity=0),                      # 'remove': quantity 0
    ])
    print(f"  amendment {amendment_id} created with description {change!r} and validated")
    after = show(gw, pid, "after validate_amendment")
    print(f"  state {before['state']} -> {after['state']}, revision {before['revision']} -> {after['revision']}, "
          f"supplier invoice {before['invoices']} -> {after['invoices']} (the draft one is deleted and made again)")
    print("  adding a line to a processing purchase:")
    attempt("amendment line without `line`", gw, "model.purchase.amendment.create",
            [{"purchase": pid, "lines": [["create", [{"action": "line", "product": codes.product["FAST-NUT-M10"], "quantity": 1,
                                                       "unit": codes.unit["FAST-NUT-M10"], "unit_price": decimal("1.00")}]]]}])
    attempt("purchase.write lines create", gw, "model.purchase.purchase.write", [pid],
            {"lines": [["create", [{"product": codes.product["FAST-NUT-M10"], "quantity": 1, "unit": codes.unit["FAST-NUT-M10"],
                                    "unit_price": decimal("1.00")}]]]})
    attempt("purchase.line.delete", gw, "model.purchase.line.delete", [lines[2]["id"]])
    supplement = create_confirmed(gw, codes, change, [("FAST-NUT-M10", 10, "0.80")])
    show(gw, supplement, "the added line as a supplementary purchase, reference = the change's key")
    quotation = create_confirmed(gw, codes, key("q", 0), [("FAST-M8X40", 1, "1.00")], workflow=("quote",))
    attempt("amendment of a purchase in 'quotation'", gw, "model.purchase.amendment.create",
            [{"purchase": quotation, "description": key("q", 1), "lines": [["create", []]]}])

    # 2. Cancel a confirmed purchase.
    heading("2. cancel a confirmed purchase")
    pid = create_confirmed(gw, codes, key("c", 0), [("FAST-M8X40", 4, "10.00"), ("FAST-M10X60", 1, "20.00")])
    show(gw, pid, "after confirm")
    attempt("purchase.cancel", gw, "model.purchase.purchase.cancel", [pid])
    attempt("purchase.draft", gw, "model.purchase.purchase.draft", [pid])
    cancellation = key("d", 0)
    amend(gw, pid, cancellation, [amendment_line(line, quantity=0) for line in line_values(gw, pid)])
    print(f"  cancelled by an amendment setting every line to 0, description {cancellation!r}")
    show(gw, pid, "after the cancelling amendment")
    attempt("purchase.cancel afterwards", gw, "model.purchase.purchase.cancel", [pid])
    attempt("purchase.cancel of the 'quotation' purchase", gw, "model.purchase.purchase.cancel", [quotation])
    show(gw, quotation, "the quotation purchase")
    attachment, = gw("model.ir.attachment.create", [{
        "name": f"causeway-cancellation {key('e', 0)}.json", "type": "data", "resource": f"purchase.purchase,{quotation}",
        "description": key("e", 0), "data": {"__class__": "bytes", "base64": base64.b64encode(b"{}").decode()}}])
    print(f"  marker on a 'cancelled' purchase (no amendment possible there): ir.attachment {attachment}")

    # 3. Goods received, then amend or cancel.
    heading("3. goods received (supplier shipment done), then amend or cancel")
    pid = create_confirmed(gw, codes, key("r", 0), [("FAST-M8X40", 5, "10.00"), ("FAST-M10X60", 3, "20.00")])
    admin = Session("admin", ADMIN_PASSWORD)
    moves = gw("model.purchase.purchase.read", [pid], ["moves"])[0]["moves"]
    warehouse = admin("model.stock.location.search_read", [["type", "=", "warehouse"]], 0, 1, None,
                      ["id", "input_location", "storage_location"])[0]
    shipment, = admin("model.stock.shipment.in.create", [{
        "company": admin.company, "supplier": codes.party, "warehouse": warehouse["id"],
        "warehouse_input": warehouse["input_location"], "warehouse_storage": warehouse["storage_location"],
        "incoming_moves": [["add", moves]]}])
    admin("model.stock.shipment.in.receive", [shipment])
    admin("model.stock.shipment.in.do", [shipment])
    print(f"  (as admin, the warehouse) stock.shipment.in {shipment}: create with incoming_moves add {moves}, receive, do")
    show(gw, pid, "received")
    print("  the gateway's own check (Tryton does not refuse): done or shipped moves per line")
    for line in line_values(gw, pid):
        done = gw("model.stock.move.search_read", [["origin", "=", f"purchase.line,{line['id']}"],
                                                    ["OR", ["state", "=", "done"], ["shipment", "!=", None]]],
                  0, None, None, ["state", "quantity", "shipment"])
        print(f"    line {line['id']}: received or in a shipment: {[(m['state'], m['quantity']) for m in done]}")
    attempt("purchase.cancel", gw, "model.purchase.purchase.cancel", [pid])
    attempt("purchase.draft", gw, "model.purchase.purchase.draft", [pid])
    lines = line_values(gw, pid)
    try:
        amend(gw, pid, key("r", 1), [amendment_line(lines[0], quantity=2, unit_price="9.00")])
        print("  amendment to quantity 2 (5 received) and price 9.00: ACCEPTED by Tryton")
    except TrytonError as error:
        print(f"  amendment: REFUSED {error}")
    show(gw, pid, "after amending a received line")
    try:
        amend(gw, pid, key("r", 2), [amendment_line(line, quantity=0) for line in line_values(gw, pid)])
        print("  cancelling amendment (every line 0) after receipt: ACCEPTED by Tryton")
    except TrytonError as error:
        print(f"  cancelling amendment: REFUSED {error}")
    show(gw, pid, "after the cancelling amendment")

    heading("3b. supplier invoice already posted, then amend")
    pid = create_confirmed(gw, codes, key("p", 0), [("FAST-M8X40", 6, "10.00"), ("FAST-M10X60", 3, "20.00")])
    invoices = gw("model.purchase.purchase.read", [pid], ["invoices"])[0]["invoices"]
    admin("model.account.invoice.write", invoices, {"invoice_date": {"__class__": "date", "year": 2026, "month": 12, "day": 4}})
    admin("model.account.invoice.post", invoices)
    print(f"  (as admin, accounting) account.invoice {invoices}: write invoice_date, post")
    show(gw, pid, "invoice posted")
    amend(gw, pid, key("p", 1), [amendment_line(line_values(gw, pid)[0], quantity=4, unit_price="9.00")])
    print("  amendment 6 x 10.00 -> 4 x 9.00: accepted")
    show(gw, pid, "after the amendment")

    heading("3c. goods on a supplier shipment not yet received, then amend")
    pid = create_confirmed(gw, codes, key("s", 0), [("FAST-M8X40", 5, "10.00")])
    moves = gw("model.purchase.purchase.read", [pid], ["moves"])[0]["moves"]
    shipment, = admin("model.stock.shipment.in.create", [{
        "company": admin.company, "supplier": codes.party, "warehouse": warehouse["id"],
        "warehouse_input": warehouse["input_location"], "warehouse_storage": warehouse["storage_location"],
        "incoming_moves": [["add", moves]]}])
    print(f"  (as admin) stock.shipment.in {shipment} in draft with the purchase's moves {moves}")
    amend(gw, pid, key("s", 1), [amendment_line(line_values(gw, pid)[0], quantity=3)])
    print("  amendment 5 -> 3: accepted")
    show(gw, pid, "after the amendment")
    attempt("(as admin) receive the shipment", admin, "model.stock.shipment.in.receive", [shipment])

    # 4. Idempotency.
    heading("4. idempotency: was this change already applied?")
    for wanted in (change, cancellation, key("r", 1), key("never", 0)):
        found = find_applied(gw, wanted)
        print(f"  search_read purchase.amendment description = {wanted!r}: {json.dumps(plain(found))}")
    draft_id, = gw("model.purchase.amendment.create", [{"purchase": after["id"], "description": key("h", 0), "lines": [["create", []]]}])
    print(f"  a half-done change (created, not validated): {json.dumps(plain(find_applied(gw, key('h', 0))))}")
    attempt("validate it now (resume)", gw, "model.purchase.amendment.validate_amendment", [draft_id])
    attempt("validate it again", gw, "model.purchase.amendment.validate_amendment", [draft_id])
    print("  attachment marker lookup: " + json.dumps(gw("model.ir.attachment.search_read",
          [["resource", "=", f"purchase.purchase,{quotation}"], ["description", "=", key("e", 0)]], 0, None, None, ["id", "name"])))


if __name__ == "__main__":
    main()
