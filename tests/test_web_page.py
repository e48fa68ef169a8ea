"""The chat page's server (web/serve.py), in-process on a free port: no browser, no Rasa.

What it serves, what it refuses, and its settings. The page itself in a real browser is
tests/live/test_webchat.py (a `live` test).
"""
from __future__ import annotations

import http.client
import importlib.util
import re
import threading
from typing import Dict, Iterator, Tuple

import pytest

from tests.helpers import ROOT


def _load_serve():
    spec = importlib.util.spec_from_file_location("xiaoan_web_serve", ROOT / "web" / "serve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


serve = _load_serve()


@pytest.fixture
def page_server() -> Iterator[int]:
    server = serve.make_server(0, 'http://127.0.0.1:5005"><script>x</script>')
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _get(port: int, path: str, method: str = "GET") -> Tuple[int, Dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_page_server_serves_the_page_with_rasa_url(page_server: int) -> None:
    status, headers, body = _get(page_server, "/?terminal_id=10000002")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    page = body.decode("utf-8")
    assert "<title>小安 · POS转账助手</title>" in page
    assert '<script src="/vendor/rasa-webchat.js"></script>' in page
    # injected, and escaped: the value cannot break out of the attribute
    assert 'content="http://127.0.0.1:5005&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in page
    assert "<script>x</script>" not in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page), "no outside script, style or font"
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "font-src 'self'" in policy
    for asset in ("/static/app.js", "/static/app.css", "/static/favicon.svg"):
        assert _get(page_server, asset)[0] == 200, asset


def test_page_server_serves_the_widget_without_outside_fonts(page_server: int) -> None:
    status, headers, body = _get(page_server, "/vendor/rasa-webchat.js")
    if not serve.VENDOR_BUNDLE.exists():
        assert status == 503 and b"npm ci" in body
        return
    assert status == 200
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert b"WebChat" in body
    assert b"fonts.googleapis.com" not in body


@pytest.mark.parametrize(
    "path",
    [
        "/serve.py",
        "/web/serve.py",
        "/package.json",
        "/static/",
        "/static",
        "/vendor/",
        "/node_modules/rasa-webchat/lib/index.js",
        "/../web/serve.py",
        "/static/../serve.py",
        "/static/..%2fserve.py",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/static//app.js",
        "//etc/passwd",
        "/index.html/",
    ],
)
def test_page_server_answers_nothing_else(page_server: int, path: str) -> None:
    status, _, body = _get(page_server, path)
    assert status == 404, path
    assert b"import" not in body and b"root:" not in body


def test_page_server_is_read_only(page_server: int) -> None:
    assert _get(page_server, "/", method="POST")[0] == 405
    status, _, body = _get(page_server, "/", method="HEAD")
    assert status == 200 and body == b""


def test_page_server_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEB_PORT", raising=False)
    monkeypatch.delenv("RASA_URL", raising=False)
    assert serve.web_port_from_env() == 8080
    assert serve.rasa_url_from_env() == ""
    monkeypatch.setenv("WEB_PORT", "9090")
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:5006/")
    assert serve.web_port_from_env() == 9090
    assert serve.rasa_url_from_env() == "http://127.0.0.1:5006"
    for bad in ("javascript:alert(1)", "127.0.0.1:5005", "http://x/?a=1"):
        monkeypatch.setenv("RASA_URL", bad)
        with pytest.raises(SystemExit):
            serve.rasa_url_from_env()
    monkeypatch.setenv("WEB_PORT", "eighty")
    with pytest.raises(SystemExit):
        serve.web_port_from_env()
