#!/usr/bin/env python3
"""A recording HTTP(S) server for the HTTP adapter tests (Python 3 standard library only).

Every request (method, path with query, headers, body, client certificate subject) is appended
as one JSON line to --log, flushed before the answer is written. Behaviour per path comes from
the JSON file --config: {"paths": {"/orders": {...}}}; a path without an entry, or with
{"kind": "create"}, creates a resource:

  create   201 with {"id", "notificationId", "path"} and a Location header. Honours
           Idempotency-Key unless "honour_key": false: a repeated key gets the first answer
           (status and body) again, and nothing new is created. Options:
             "fail_first": N      answer the first N requests with 503 (nothing created)
             "delay": seconds     create, log, then wait this long before answering (slow)
             "authorization": v   the exact Authorization header required, else 401
             "echo_authorization_on_401": true   put the received header in the 401 text
  fixed    answer "status", "headers", "body" (text), "content_type", every time.

GET --lookup-path (default /lookup) with ?idempotency_key=K answers 200 with the answer body
stored for K (any path), or 404. The server picks a free port and writes it to --port-file.
TLS: --cert/--key serve HTTPS; --client-ca also requires a client certificate signed by it.
It exits when its parent process dies.
"""

import argparse
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
by_key = {}          # idempotency key -> (status, body bytes, location)
created = [0]        # resource counter
seen_per_path = {}   # path -> requests so far (for fail_first)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "RecordingServer/1"

    def log_message(self, format, *args):  # quiet
        pass

    def _record(self, body):
        subject = None
        try:
            cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
            if cert:
                subject = dict(x[0] for x in cert.get("subject", ()))
        except Exception:
            subject = None
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", errors="replace"),
            "client_subject": subject,
            "time": time.time(),
        }
        with lock:
            with open(self.server.log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(entry) + "\n")
                log.flush()

    def _send(self, status, body=b"", content_type="application/json", headers=None):
        try:
            self._write(status, body, content_type, headers)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout test): nothing to answer.
            self.close_connection = True

    def _write(self, status, body, content_type, headers):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self._record(body)
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path

        if self.command == "GET" and path == self.server.lookup_path:
            key = urllib.parse.parse_qs(parsed.query).get("idempotency_key", [None])[0]
            with lock:
                stored = by_key.get(key)
            if stored is None:
                return self._send(404, b'{"title":"no such key"}', "application/problem+json")
            return self._send(200, stored[1], "application/json", {"Content-Location": stored[2]})

        behaviour = self.server.config.get("paths", {}).get(path, {"kind": "create"})
        with lock:
            seen_per_path[path] = seen_per_path.get(path, 0) + 1
            count = seen_per_path[path]

        if behaviour.get("kind", "create") == "fixed":
            return self._send(behaviour.get("status", 200), behaviour.get("body", "").encode("utf-8"),
                              behaviour.get("content_type", "application/json"), behaviour.get("headers"))

        required = behaviour.get("authorization")
        if required is not None and self.headers.get("Authorization") != required:
            text = "unauthorized"
            if behaviour.get("echo_authorization_on_401"):
                text += "; you sent: " + str(self.headers.get("Authorization"))
            return self._send(401, text.encode("utf-8"), "text/plain")

        if count <= behaviour.get("fail_first", 0):
            return self._send(503, b'{"title":"warming up"}', "application/problem+json", {"Retry-After": "1"})

        key = self.headers.get("Idempotency-Key")
        honour = behaviour.get("honour_key", True)
        with lock:
            if honour and key in by_key:
                status, answer, location = by_key[key]
                replay = True
            else:
                created[0] += 1
                number = created[0]
                location = "%s/%d" % (path, number)
                answer = json.dumps({"id": str(number), "notificationId": "N-%04d" % number, "path": path}).encode("utf-8")
                status = 201
                if key:
                    by_key[key] = (status, answer, location)
                replay = False
        if not replay and behaviour.get("delay"):
            time.sleep(behaviour["delay"])
        return self._send(status, answer, "application/json", {"Location": location})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--config")
    parser.add_argument("--lookup-path", default="/lookup")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--client-ca")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.log_path = args.log
    server.lookup_path = args.lookup_path
    server.config = {}
    if args.config:
        with open(args.config, encoding="utf-8") as f:
            server.config = json.load(f)
    open(args.log, "a").close()
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.client_ca)
        server.socket = context.wrap_socket(server.socket, server_side=True)

    parent = os.getppid()

    def watch_parent():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
