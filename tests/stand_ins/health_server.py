"""A tiny server with /health/live and /health/ready, for supervision tests without Rasa.

    python -m tests.stand_ins.health_server PORT [--child]

``--child`` also starts a ``sleep`` child in the same process group, to check
that stopping a program stops its children. Logs one JSON line at start.
"""
from __future__ import annotations

import json
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        status = 200 if self.path in ("/health/live", "/health/ready") else 404
        body = b'{"status": "live"}' if status == 200 else b"{}"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    port = int(sys.argv[1])
    if "--child" in sys.argv:
        subprocess.Popen(["sleep", "600"])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(json.dumps({"level": "info", "event": "stand_in.started", "port": port}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
