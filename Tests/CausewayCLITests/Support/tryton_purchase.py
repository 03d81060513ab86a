#!/usr/bin/env python3
"""A Tryton purchase as a test of changes and cancellations needs it (standard library only).

  tryton_purchase.py show NUMBER     -> one JSON line: state, revision, total, shipment and
                                        invoice state, the lines (product code, quantity, unit
                                        price) in line order, and the amendments' descriptions
  tryton_purchase.py receive NUMBER  -> receives every stock move of the purchase on one supplier
                                        shipment (create, receive, done) as `admin`, the warehouse;
                                        prints {"shipment": ID, "moves": [...]}

Connection from CAUSEWAY_TEST_TRYTON (URL with the database), _USER and _PASSWORD; the warehouse
logs in as admin with CAUSEWAY_TRYTON_ADMIN_PASSWORD, by default the same password
(scripts/tryton-start sets both). Decimals are printed as text, never as floats.
"""
import base64, json, os, sys, urllib.request

URL = os.environ["CAUSEWAY_TEST_TRYTON"].rstrip("/") + "/rpc/"
USER, PASSWORD = os.environ["CAUSEWAY_TEST_TRYTON_USER"], os.environ["CAUSEWAY_TEST_TRYTON_PASSWORD"]
ADMIN_PASSWORD = os.environ.get("CAUSEWAY_TRYTON_ADMIN_PASSWORD", PASSWORD)


class Session:
    def __init__(self, login, password):
        self.auth = None
        uid, token = self.post("common.db.login", [login, {"password": password}, "en"])[:2]
        self.auth = "Session " + base64.b64encode(f"{login}:{uid}:{token}".encode()).decode()
        self.company = self.post("model.res.user.get_preferences", [True, {}])["company"]

    def post(self, method, params):
        request = urllib.request.Request(URL, data=json.dumps({"id": 1, "method": method, "params": params}).encode(),
                                         headers={"Content-Type": "application/json"})
        if self.auth:
            request.add_header("Authorization", self.auth)
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        if answer.get("error"):
            raise SystemExit(f"{method}: {answer['error']}")
        return answer["result"]

    def __call__(self, method, *params):
        return self.post(method, list(params) + [{"company": self.company}])


def text(value):
    if isinstance(value, dict) and value.get("__class__") == "Decimal":
        return value["decimal"]
    return value


def purchase(session, number):
    found = session("model.purchase.purchase.search_read", [["number", "=", number]], 0, None, None,
                    ["id", "state", "revision", "total_amount", "shipment_state", "invoice_state", "lines", "moves", "party"])
    if len(found) != 1:
        raise SystemExit(f"{len(found)} purchases numbered {number}")
    return found[0]


def show(number):
    gw = Session(USER, PASSWORD)
    p = purchase(gw, number)
    lines = gw("model.purchase.line.read", p["lines"], ["id", "product.code", "quantity", "unit_price", "sequence"])
    lines.sort(key=lambda line: p["lines"].index(line["id"]))
    amendments = gw("model.purchase.amendment.search_read", [["purchase", "=", p["id"]]], 0, None, [["id", "ASC"]],
                    ["description", "state"])
    print(json.dumps({
        "state": p["state"], "revision": p["revision"], "total": text(p["total_amount"]),
        "shipmentState": p["shipment_state"], "invoiceState": p["invoice_state"],
        "lines": [f"{line['product.']['code']}:{line['quantity']:g}@{text(line['unit_price'])}" for line in lines],
        "amendments": [f"{a['state']} {a['description']}" for a in amendments],
    }))


def receive(number):
    gw = Session(USER, PASSWORD)
    p = purchase(gw, number)
    admin = Session("admin", ADMIN_PASSWORD)
    warehouse = admin("model.stock.location.search_read", [["type", "=", "warehouse"]], 0, 1, None,
                      ["id", "input_location", "storage_location"])[0]
    shipment, = admin("model.stock.shipment.in.create", [{
        "company": admin.company, "supplier": p["party"], "warehouse": warehouse["id"],
        "warehouse_input": warehouse["input_location"], "warehouse_storage": warehouse["storage_location"],
        "incoming_moves": [["add", p["moves"]]]}])
    admin("model.stock.shipment.in.receive", [shipment])
    admin("model.stock.shipment.in.do", [shipment])
    print(json.dumps({"shipment": shipment, "moves": p["moves"]}))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("show", "receive"):
        raise SystemExit(__doc__)
    {"show": show, "receive": receive}[sys.argv[1]](sys.argv[2])
