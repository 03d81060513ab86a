#!/usr/bin/env python3
"""A receipt callback endpoint for tests: records every POST body (one JSON line each) and
answers 503 to the first --fail requests, then 200.

  callback_recorder.py --port-file FILE --out FILE.jsonl [--fail N]
"""
import argparse, http.server, json, threading

args = None
lock = threading.Lock()
seen = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            seen += 1
            failing = seen <= args.fail
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps({"status": 503 if failing else 200, "key": self.headers.get("Idempotency-Key"),
                                    "body": json.loads(body)}) + "\n")
        self.send_response(503 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--fail", type=int, default=0)
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
