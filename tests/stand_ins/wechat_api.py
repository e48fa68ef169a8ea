"""WeChat's access-token and customer-service endpoints on a local port, recording sends.

Live tests point ``WECHAT_API_BASE`` here to see the answers that arrive
after the 5-second passive reply.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List
from urllib.parse import parse_qs, urlsplit


class WeChatApiStandIn:
    def __init__(self, app_secret: str, port: int = 0, errcode: int = 0) -> None:
        self.app_secret = app_secret
        self.sends: List[Dict[str, Any]] = []
        self.errcode = errcode  # what every send answers (45015: outside the 48-hour window)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _json(self, payload: Dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                if urlsplit(self.path).path == "/cgi-bin/token" and query.get("secret") == [stand_in.app_secret]:
                    self._json({"access_token": "STAND-IN-TOKEN", "expires_in": 7200})
                else:
                    self._json({"errcode": 40001, "errmsg": "invalid credential"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                stand_in.sends.append({"at": time.monotonic(), "body": body})
                self._json({"errcode": stand_in.errcode, "errmsg": "ok" if not stand_in.errcode else "refused"})

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "WeChatApiStandIn":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def texts_for(self, openid: str) -> List[str]:
        return [s["body"].get("text", {}).get("content", "") for s in self.sends if s["body"].get("touser") == openid]

    def wait_for(self, openid: str, timeout: float) -> List[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.texts_for(openid):
            time.sleep(0.1)
        return self.texts_for(openid)
