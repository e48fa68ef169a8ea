#!/usr/bin/env python3
"""Serves 小安's web chat page: standard library (plus xiaoan.content for its words), 127.0.0.1, port WEB_PORT (8080).

    WEB_PORT=8080 RASA_URL=http://127.0.0.1:5005 python web/serve.py

Only a fixed set of paths is answered; everything else is 404 (no directory
listing, nothing outside this folder):

    /, /index.html           web/index.html, with RASA_URL put into its
                             <meta name="xiaoan-rasa-url"> (empty when unset:
                             the page then uses its own host, port 5005)
    /static/<file>           the files directly in web/static/
    /vendor/rasa-webchat.js  web/node_modules/rasa-webchat/lib/index.js
                             (`npm ci` in web/), without its Google Fonts
                             @import so that the page makes no outside request
    /health/live             {"status": "live"}: the supervisor's health watch
                             asks it (ops/healthwatch.py); not logged

With XIAOAN_LOG_FORMAT=json (under `make run` / `make scale`) each request is
logged as one JSON line (method, path without its query, status), like the
other servers' logs; otherwise as http.server always did.

The 404 page's words are a response of domain.yml, like everything else 小安
says (read through xiaoan.content, the one module besides the standard
library this server imports).

Every answer carries a Content-Security-Policy that allows scripts, styles and
fonts from this server only, and connections to this server and Rasa.
"""
from __future__ import annotations

import html
import json
import os
import re
import sys
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as `python web/serve.py`: the repository's packages

from xiaoan import clock  # noqa: E402

HERE = Path(__file__).resolve().parent
INDEX = HERE / "index.html"
STATIC = HERE / "static"
VENDOR_BUNDLE = HERE / "node_modules" / "rasa-webchat" / "lib" / "index.js"
VENDOR_PATH = "/vendor/rasa-webchat.js"
HOST = "127.0.0.1"
DEFAULT_PORT = 8080

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
RASA_META = re.compile(r'(<meta name="xiaoan-rasa-url" content=")[^"]*(")')
OUTSIDE_FONTS = re.compile(rb"@import url\(https?://fonts\.(?:googleapis|gstatic)\.com/[^)]*\);?")
HOSTNAME = re.compile(r"^[A-Za-z0-9.-]{1,253}$")
HEALTH_PATH = "/health/live"


def rasa_url_from_env() -> str:
    """RASA_URL, checked: an http(s) URL without query or fragment, or ''."""
    value = (os.environ.get("RASA_URL") or "").strip().rstrip("/")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SystemExit(f"RASA_URL must look like http://127.0.0.1:5005, not {value!r}")
    return value


def web_port_from_env() -> int:
    raw = (os.environ.get("WEB_PORT") or str(DEFAULT_PORT)).strip()
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SystemExit(f"WEB_PORT must be a port number, not {raw!r}")
    return int(raw)


def static_files() -> Dict[str, Path]:
    """URL path -> file, for the files directly in web/static/ with a known type."""
    files: Dict[str, Path] = {}
    if STATIC.is_dir():
        for path in STATIC.iterdir():
            if path.is_file() and path.suffix in CONTENT_TYPES and not path.name.startswith("."):
                files[f"/static/{path.name}"] = path
    return files


def render_index(rasa_url: str) -> bytes:
    page = INDEX.read_text(encoding="utf-8")
    value = html.escape(rasa_url, quote=True)
    return RASA_META.sub(lambda m: m.group(1) + value + m.group(2), page, count=1).encode("utf-8")


@lru_cache(maxsize=1)
def not_found_text() -> str:
    """The 404 page's words: a response of domain.yml (utter_web_not_found), read through xiaoan.content."""
    from xiaoan import content

    return content.render("utter_web_not_found")


@lru_cache(maxsize=1)
def vendor_bundle() -> Optional[bytes]:
    """The widget bundle, minus its @import of Google Fonts; None if not installed."""
    try:
        return OUTSIDE_FONTS.sub(b"", VENDOR_BUNDLE.read_bytes())
    except FileNotFoundError:
        return None


def _origin_variants(url: str) -> list:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    socket_scheme = "wss" if parts.scheme == "https" else "ws"
    return [origin, f"{socket_scheme}://{parts.netloc}"]


def content_security_policy(rasa_url: str, page_host: str) -> str:
    """Scripts/styles/fonts from here only; sockets to Rasa (its URL, or any port of
    this page's host or of loopback, which is what the page's ?rasa= accepts)."""
    connect = ["'self'"]
    if rasa_url:
        connect += _origin_variants(rasa_url)
    hosts = ["127.0.0.1", "localhost"]
    hostname = page_host.rsplit(":", 1)[0] if not page_host.startswith("[") else ""
    if hostname and HOSTNAME.match(hostname) and hostname not in hosts:
        hosts.append(hostname)
    for name in hosts:
        connect += [f"http://{name}:*", f"ws://{name}:*", f"https://{name}:*", f"wss://{name}:*"]
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",  # the widget injects <style> tags
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src " + " ".join(dict.fromkeys(connect)),
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


class PageHandler(BaseHTTPRequestHandler):
    server_version = "xiaoan-web"
    rasa_url = ""
    routes: Dict[str, Path] = {}

    def version_string(self) -> str:
        return self.server_version

    def _resolve(self) -> Tuple[int, bytes, str, str]:
        """(status, body, content type, cache-control) for the requested path."""
        path = urlsplit(self.path).path
        if path == HEALTH_PATH:
            return 200, b'{"status": "live"}', CONTENT_TYPES[".json"], "no-store"
        if path in ("/", "/index.html"):
            return 200, render_index(self.rasa_url), CONTENT_TYPES[".html"], "no-cache"
        if path == VENDOR_PATH:
            body = vendor_bundle()
            if body is None:
                message = "rasa-webchat is not installed: run `npm ci` in web/.\n"
                return 503, message.encode(), "text/plain; charset=utf-8", "no-store"
            return 200, body, CONTENT_TYPES[".js"], "public, max-age=3600"
        file = self.routes.get(path)
        if file is not None:
            try:
                body = file.read_bytes()
            except OSError:
                body = None
            if body is not None:
                return 200, body, CONTENT_TYPES[file.suffix], "no-cache"
        return 404, (not_found_text() + "\n").encode(), "text/plain; charset=utf-8", "no-store"

    def _answer(self, send_body: bool) -> None:
        status, body, content_type, cache = self._resolve()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header(
            "Content-Security-Policy",
            content_security_policy(self.rasa_url, self.headers.get("Host", "")),
        )
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def _refuse(self) -> None:
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        path = urlsplit(self.path or "").path
        if path == HEALTH_PATH:
            return
        if os.environ.get("XIAOAN_LOG_FORMAT") == "json":
            line = {
                "ts": clock.for_logs(clock.timestamp()), "level": "info",
                "process": os.environ.get("XIAOAN_PROCESS", "web"), "logger": "web.serve",
                "event": "http.request", "method": self.command, "path": path[:200],
                "status": int(code) if str(code).isdigit() else str(code),
            }
            sys.stderr.write(json.dumps(line, ensure_ascii=False) + "\n")
            return
        super().log_request(code, size)


class PageServer(ThreadingHTTPServer):
    daemon_threads = True


def make_server(port: int, rasa_url: str) -> PageServer:
    handler = type(
        "XiaoanPageHandler", (PageHandler,), {"rasa_url": rasa_url, "routes": static_files()}
    )
    return PageServer((HOST, port), handler)


def main() -> int:
    port = web_port_from_env()
    rasa_url = rasa_url_from_env()
    if vendor_bundle() is None:
        print(f"warning: {VENDOR_BUNDLE} is missing: run `npm ci` in web/", file=sys.stderr)
    try:
        server = make_server(port, rasa_url)
    except OSError as error:
        print(f"cannot listen on {HOST}:{port}: {error}", file=sys.stderr)
        return 1
    print(
        f"小安 web chat: http://{HOST}:{server.server_address[1]}/ "
        f"(Rasa: {rasa_url or 'this host, port 5005'})",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
