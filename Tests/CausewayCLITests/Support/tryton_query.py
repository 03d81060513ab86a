#!/usr/bin/env python3
"""Reads what a test needs from the real Tryton over JSON-RPC (standard library only).

  tryton_query.py NUMBER   -> one JSON line: the purchase with that number (state, reference,
                              lines) and the names and bytes of its attachments

Connection from CAUSEWAY_TEST_TRYTON (URL with the database), _USER and _PASSWORD.
"""
import base64, json, os, sys, urllib.request

url = os.environ["CAUSEWAY_TEST_TRYTON"]
if not url.endswith("/"):
    url += "/"
url += "rpc/"
user, password = os.environ["CAUSEWAY_TEST_TRYTON_USER"], os.environ["CAUSEWAY_TEST_TRYTON_PASSWORD"]


def rpc(method, params, session=None):
    request = urllib.request.Request(url, data=json.dumps({"id": 1, "method": method, "params": params}).encode(),
                                     headers={"Content-Type": "application/json"})
    if session:
        request.add_header("Authorization", "Session " + base64.b64encode(session.encode()).decode())
    with urllib.request.urlopen(request, timeout=20) as response:
        answer = json.loads(response.read())
    if answer.get("error"):
        raise SystemExit(f"{method}: {answer['error']}")
    return answer["result"]


uid, token = rpc("common.db.login", [user, {"password": password}, "en"])[:2]
session = f"{user}:{uid}:{token}"
preferences = rpc("model.res.user.get_preferences", [True, {}], session)
context = {"company": preferences.get("company")}
number = sys.argv[1]
purchases = rpc("model.purchase.purchase.search_read",
                [[["number", "=", number]], 0, None, None, ["id", "state", "reference", "lines"], context], session)
result = {"purchases": purchases, "attachments": []}
if purchases:
    attachments = rpc("model.ir.attachment.search_read",
                      [[["resource", "=", f"purchase.purchase,{purchases[0]['id']}"]], 0, None, None, ["name", "data"], context],
                      session)
    for a in attachments:
        data = a.get("data")
        if isinstance(data, dict) and data.get("__class__") == "bytes":
            data = base64.b64decode(data["base64"]).decode("utf-8", "replace")
        result["attachments"].append({"name": a["name"], "data": data})
print(json.dumps(result))
