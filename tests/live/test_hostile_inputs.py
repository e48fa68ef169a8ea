"""Hostile input against the RUNNING Rasa server: REST, WeChat and socket.io.

Runs with the other live tests (``python -m ops.local -- …`` starts the servers);
skipped unless ``XIAOAN_LIVE_TESTS=1``. Starts nothing: Rasa must run at
RASA_URL (http://127.0.0.1:5005) with ``--enable-api``, the WeChat channel with
the same ``WECHAT_TOKEN`` as this process, and the action server.

Every input must get a clear answer: 200 (REST: with a JSON list of replies;
WeChat: an XML reply or ``success``) or a 4xx. Never a 5xx, never a dropped
connection or a request left without an answer, and the server still answers
"你好" afterwards. Each channel test prints how many inputs it tried.

The privacy tests send a full card number, a PIN and an SMS code and look for
them in the stored tracker and in the server logs (RASA_LOG, ACTIONS_LOG;
default var/rasa-test.log and var/actions-test.log, as ``python -m ops.local -- …`` writes).

Knobs: XIAOAN_HOSTILE_TIMEOUT (s per request, default 60),
XIAOAN_HOSTILE_SLOW_TIMEOUT (s for the 2 MB message, default 300).
"""
from __future__ import annotations

import http.client
import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence
from urllib.parse import quote, urlencode, urlsplit
from xml.etree import ElementTree

import pytest

from tests.clients import api_token
from wechatpy.utils import WeChatSigner

ROOT = Path(__file__).resolve().parents[2]
RASA_URL = (os.environ.get("RASA_URL") or "http://127.0.0.1:5005").rstrip("/")
TOKEN = os.environ.get("WECHAT_TOKEN", "")
TIMEOUT = float(os.environ.get("XIAOAN_HOSTILE_TIMEOUT") or 60)
SLOW_TIMEOUT = float(os.environ.get("XIAOAN_HOSTILE_SLOW_TIMEOUT") or 300)
SLOW_REPORT = 5.0  # answers slower than this are listed (WeChat gives a callback 5 s)
STREAM_TIMEOUT = 30.0  # a streamed answer that has not finished by then never will
RUN = uuid.uuid4().hex[:8]
MB2 = 2 * 1024 * 1024

REST_PATH = "/webhooks/rest/webhook"
WECHAT_PATH = "/webhooks/wechat/webhook"
SOCKETIO_PATH = "/socket.io/"

pytestmark = pytest.mark.live

# Typed by a user: each goes through REST and WeChat as the message text.
TEXTS: Dict[str, str] = {
    "empty": "",
    "whitespace only": "   \t\n  ",
    "full-width spaces only": "\u3000\u3000\u3000",
    "10,000 Chinese characters": "转账失败" * 2500,
    "10,000 Latin characters": "a" * 10_000,
    "10,000 digits": "6" * 10_000,
    "emoji only": "😀😡💳🏧🙏",
    "emoji ZWJ and flags": "👨‍👩‍👧‍👦🇨🇳🏳️‍🌈",
    "control characters": "\x01\x02\x07\x08\x1b[31m\x7f转账\x0b\x0c",
    "NUL byte": "你好\x00POS",
    "bidi override and BOM": "\u202e失败\u202c\ufeff\u200b",
    "lone surrogate": "刷卡\ud800失败",
    "mixed scripts": "POS機 轉帳失敗 тест ＰＯＳ１２３ العربية 한국어 ᚠ 𝔘𝔫𝔦",
    "SQL injection": "'; DROP TABLE events; --",
    "SQL injection tautology": "1' OR '1'='1",
    "SQL injection in terminal id": "终端号10000002' OR 1=1 --",
    "SQL injection in reference": "202611250001; DELETE FROM transactions;",
    "Jinja template": "{{7*7}}",
    "Jinja class walk": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "Jinja loop": "{% for x in range(99999999) %}{% endfor %}",
    "log4j JNDI": "${jndi:ldap://127.0.0.1:1389/a}",
    "EL expression": "${7*7} #{7*7} %{7*7}",
    "Python format": "{0.__class__} {sender} %s%s%s%n",
    "HTML script": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "markdown link": "[点我领取退款](javascript:alert(1))",
    "Rasa intent shortcut": "/inform{\"terminal_id\":\"10000002\"}",
    "Rasa intent shortcut, bad JSON": "/inform{\"terminal_id\":",
    "Rasa unknown intent": "/no_such_intent",
    "Rasa restart command": "/restart",
    "Rasa session_start": "/session_start",
    "path traversal": "../../../../etc/passwd",
    "CRLF injection": "你好\r\nX-Injected: 1\r\n\r\nHTTP/1.1 200 OK",
}
TEMPLATE_RESULTS = {"Jinja template": "49", "EL expression": "49"}  # must not come back evaluated


@dataclass
class Outcome:
    status: Optional[int]
    body: bytes
    seconds: float
    error: Optional[str] = None
    content_type: str = ""


@dataclass
class Case:
    name: str
    method: str
    path: str
    body: Optional[bytes] = None
    headers: Dict[str, str] = field(default_factory=dict)
    timeout: float = TIMEOUT
    stream: bool = False
    forbid: Sequence[str] = ()


@dataclass
class Tally:
    channel: str
    tried: int = 0
    failures: List[str] = field(default_factory=list)
    slowest: tuple = (0.0, "")
    slow: List[str] = field(default_factory=list)

    def record(self, case: Case, outcome: Outcome, problem: Optional[str]) -> None:
        self.tried += 1
        if outcome.seconds > self.slowest[0]:
            self.slowest = (outcome.seconds, case.name)
        if outcome.seconds > SLOW_REPORT and not problem:
            self.slow.append(f"{case.name} ({outcome.seconds:.1f} s, HTTP {outcome.status})")
        if problem:
            self.failures.append(f"{case.name}: {problem}")

    def line(self) -> str:
        fives = sum(1 for f in self.failures if ": HTTP 5" in f)
        return (
            f"hostile inputs [{self.channel}]: {self.tried} tried, {len(self.failures)} failed"
            f" ({fives} answered 5xx); slowest {self.slowest[0]:.1f} s ({self.slowest[1]})"
        )


TALLIES: Dict[str, Tally] = {}


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest):
    yield
    if TALLIES:
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        total = sum(t.tried for t in TALLIES.values())
        failed = sum(len(t.failures) for t in TALLIES.values())
        line = "hostile inputs: " + ", ".join(f"{c} {t.tried}" for c, t in TALLIES.items())
        line += f" ({total} tried, {failed} failed)"
        if reporter is not None:
            reporter.write_line("")
            reporter.write_line(line)
        else:
            print(line)


def _report(tally: Tally, capsys: pytest.CaptureFixture) -> None:
    TALLIES[tally.channel] = tally
    with capsys.disabled():
        print("\n" + tally.line())
        for failure in tally.failures:
            print("  FAIL " + failure[:300])
        for slow in tally.slow:
            print("  slow " + slow)


# -- HTTP, with full control over the bytes ---------------------------------


def send(
    method: str,
    path: str,
    body: Optional[bytes] = None,
    headers: Optional[Dict[str, str]] = None,
    timeout: float = TIMEOUT,
) -> Outcome:
    """One request on a fresh connection; a connection error is an Outcome, not an exception.

    The body goes out in chunks so that a server that answers early (413) and
    closes is still read: the refusal counts, the broken pipe does not.
    """
    parts = urlsplit(RASA_URL)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    started = time.monotonic()
    send_error: Optional[BaseException] = None
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        all_headers = dict(headers or {})
        if body is not None:
            all_headers.setdefault("Content-Length", str(len(body)))
        for name, value in all_headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        if body:
            view = memoryview(body)
            try:
                for start in range(0, len(body), 64 * 1024):
                    connection.send(view[start : start + 64 * 1024])
            except (BrokenPipeError, ConnectionResetError) as error:
                send_error = error
        response = connection.getresponse()
        data = response.read()
        return Outcome(
            response.status, data, time.monotonic() - started,
            content_type=response.getheader("Content-Type") or "",
        )
    except (OSError, http.client.HTTPException) as error:
        detail = f"{type(error).__name__}: {error}".rstrip(": ")
        if isinstance(error, TimeoutError) or "timed out" in str(error):
            detail = f"no answer within {timeout:.0f} s"
        if send_error is not None:
            detail += f" (sending the body failed first: {type(send_error).__name__})"
        return Outcome(None, b"", time.monotonic() - started, error=detail)
    finally:
        connection.close()


def run_case(case: Case) -> Outcome:
    return send(case.method, case.path, case.body, case.headers, case.timeout)


def _transport_problem(outcome: Outcome) -> Optional[str]:
    if outcome.error:
        return f"connection: {outcome.error}"
    if outcome.status is not None and outcome.status >= 500:
        return f"HTTP {outcome.status}: {outcome.body[:160]!r}"
    if outcome.status is not None and 400 <= outcome.status < 500:
        return None
    if outcome.status != 200:
        return f"unexpected HTTP {outcome.status}"
    return None


def judge_rest(case: Case, outcome: Outcome) -> Optional[str]:
    problem = _transport_problem(outcome)
    if problem or outcome.status != 200:
        return problem
    if case.stream:  # ?stream=true: one JSON object per line
        try:
            replies = [json.loads(line) for line in outcome.body.decode().splitlines() if line.strip()]
        except ValueError:
            return f"200 but not JSON lines: {outcome.body[:160]!r}"
    else:
        try:
            replies = json.loads(outcome.body)
        except ValueError:
            return f"200 but not JSON: {outcome.body[:160]!r}"
        if not isinstance(replies, list):
            return f"200 but not a list of replies: {outcome.body[:160]!r}"
    texts = " ".join(str(r.get("text") or "") for r in replies if isinstance(r, dict))
    for evaluated in case.forbid:
        if evaluated in texts:
            return f"reply contains {evaluated!r}: the input was evaluated? {texts[:160]!r}"
    return None


def judge_wechat(case: Case, outcome: Outcome) -> Optional[str]:
    problem = _transport_problem(outcome)
    if problem or outcome.status != 200:
        return problem
    text = outcome.body.decode("utf-8", "replace").strip()
    if case.method == "GET":  # URL verification echoes echostr, as plain text (never HTML)
        return None if outcome.content_type.startswith("text/plain") else f"echo served as {outcome.content_type!r}"
    if text in ("success", ""):
        return None
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return f"200 but neither XML nor success: {text[:160]!r}"
    if root.tag != "xml":
        return f"200 but not a WeChat reply: {text[:160]!r}"
    content = root.findtext("Content") or ""
    for evaluated in case.forbid:
        if evaluated in content:
            return f"reply contains {evaluated!r}: the input was evaluated? {content[:160]!r}"
    return None


def judge_socketio(case: Case, outcome: Outcome) -> Optional[str]:
    return _transport_problem(outcome)


def run_all(tally: Tally, cases: List[Case], judge: Callable[[Case, Outcome], Optional[str]]) -> None:
    for case in cases:
        if callable(case.body):  # built just in time (signatures expire, sessions are one-use)
            case = case.body()
        outcome = run_case(case)
        tally.record(case, outcome, judge(case, outcome))


# -- REST -----------------------------------------------------------------


def rest_json(payload, **extra) -> Case:
    """A REST case whose body is ``payload`` as JSON (ASCII-escaped, like most clients)."""
    name = extra.pop("name")
    return Case(name, "POST", extra.pop("path", REST_PATH), json.dumps(payload).encode(),
                {"Content-Type": "application/json"}, **extra)


def sender(tag: str) -> str:
    return f"hostile-{RUN}-{tag}"


def rest_cases() -> List[Case]:
    cases: List[Case] = []
    for i, (name, text) in enumerate(TEXTS.items()):
        cases.append(rest_json({"sender": sender(f"r{i}"), "message": text}, name=f"message: {name}",
                               forbid=[TEMPLATE_RESULTS[name]] if name in TEMPLATE_RESULTS else ()))
    raw = lambda name, body, ctype="application/json", **kw: Case(  # noqa: E731
        name, "POST", kw.pop("path", REST_PATH), body, {"Content-Type": ctype} if ctype else {}, **kw
    )
    ok = json.dumps({"sender": sender("ct"), "message": "你好"}).encode()
    cases += [
        # not JSON, or JSON that is not an object
        raw("invalid JSON", b"{not json"),
        raw("truncated JSON", b'{"sender": "x", "message": '),
        raw("JSON with trailing garbage", ok + b"}}}"),
        raw("binary junk", bytes(range(256)) * 4),
        raw("invalid UTF-8 inside a JSON string", b'{"sender": "x", "message": "\xff\xfe\xc3"}'),
        raw("UTF-16 JSON", json.dumps({"sender": sender("u16"), "message": "你好"}).encode("utf-16")),
        raw("empty body", b""),
        raw("no body, no content type", None, ""),
        raw("JSON array", b"[1, 2, 3]"),
        raw("JSON string", b'"\xe4\xbd\xa0\xe5\xa5\xbd"'),
        raw("JSON number", b"123"),
        raw("JSON null", b"null"),
        raw("JSON true", b"true"),
        raw("deeply nested JSON", b'{"sender": "x", "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        raw("NaN and Infinity", b'{"sender": "x", "message": NaN, "metadata": Infinity}'),
        raw("duplicate keys", b'{"sender": "x", "message": "\xe4\xbd\xa0\xe5\xa5\xbd", "message": 5}'),
        # wrong content types around a good body, and bodies in other formats
        raw("content type text/plain", ok, "text/plain"),
        raw("content type form, JSON body", ok, "application/x-www-form-urlencoded"),
        raw("form-encoded body", urlencode({"sender": sender("form"), "message": "你好"}).encode(),
            "application/x-www-form-urlencoded"),
        raw("multipart body", b'--zz\r\nContent-Disposition: form-data; name="message"\r\n\r\nhi\r\n--zz--\r\n',
            "multipart/form-data; boundary=zz"),
        raw("multipart without boundary", ok, "multipart/form-data"),
        raw("XML body", b"<xml><message>hi</message></xml>", "application/xml"),
        raw("no content type", ok, ""),
        raw("content type with junk charset", ok, "application/json; charset=klingon"),
        # oversized
        raw("2 MB of junk", b"x" * MB2),
        rest_json({"sender": sender("pad"), "message": "你好", "padding": "x" * MB2}, name="2 MB padding field"),
        rest_json({"sender": sender("big"), "message": "POS机转账失败了" * (MB2 // 24)},
                  name="2 MB message", timeout=SLOW_TIMEOUT),
        # missing fields
        rest_json({}, name="empty object"),
        rest_json({"sender": sender("nomsg")}, name="no message"),
        rest_json({"message": "你好"}, name="no sender"),
        rest_json({"sender": sender("nomsg2"), "text": "你好"}, name="text instead of message"),
        # wrong types
        rest_json({"sender": sender("t1"), "message": 123}, name="message as number"),
        rest_json({"sender": sender("t2"), "message": 1.5e308}, name="message as huge float"),
        rest_json({"sender": sender("t3"), "message": ["你好", "转账失败"]}, name="message as list"),
        rest_json({"sender": sender("t4"), "message": {"text": "你好"}}, name="message as object"),
        rest_json({"sender": sender("t5"), "message": True}, name="message as boolean"),
        rest_json({"sender": sender("t6"), "message": None}, name="message as null"),
        rest_json({"sender": 12345, "message": "你好"}, name="sender as number"),
        rest_json({"sender": ["a", "b"], "message": "你好"}, name="sender as list"),
        rest_json({"sender": {"id": 1}, "message": "你好"}, name="sender as object"),
        rest_json({"sender": None, "message": "你好"}, name="sender as null"),
        rest_json({"sender": "", "message": "你好"}, name="sender empty"),
        rest_json({"sender": "s" * 10_000, "message": "你好"}, name="sender 10,000 characters"),
        rest_json({"sender": "../../etc/passwd'; DROP TABLE events;--\x00", "message": "你好"},
                  name="sender with traversal, SQL and NUL"),
        rest_json({"sender": sender("m1"), "message": "你好", "metadata": "junk"}, name="metadata as string"),
        rest_json({"sender": sender("m2"), "message": "你好", "metadata": [1, 2]}, name="metadata as list"),
        rest_json({"sender": sender("m3"), "message": "你好", "metadata": {"terminal_id": {"$gt": ""}}},
                  name="metadata with operator object"),
        rest_json({"sender": sender("m4"), "message": "你好", "input_channel": 42}, name="input_channel as number"),
        rest_json({"sender": sender("m5"), "message": "你好", "input_channel": "wechat"},
                  name="input_channel spoofed"),
        # query string and method
        rest_json({"sender": sender("q1"), "message": "你好"}, name="stream=junk",
                  path=REST_PATH + "?stream=junk"),
        rest_json({"sender": sender("q2"), "message": "你好"}, name="stream=true", stream=True,
                  path=REST_PATH + "?stream=true", timeout=STREAM_TIMEOUT),
        rest_json({"sender": sender("q3"), "message": 123}, name="stream=true, message as number",
                  stream=True, path=REST_PATH + "?stream=true", timeout=STREAM_TIMEOUT),
        Case("GET on the webhook", "GET", REST_PATH),
        Case("PUT on the webhook", "PUT", REST_PATH, ok, {"Content-Type": "application/json"}),
        Case("DELETE on the webhook", "DELETE", REST_PATH),
    ]
    return cases


def still_answers_rest() -> None:
    outcome = send("POST", REST_PATH, json.dumps({"sender": sender("after"), "message": "你好"}).encode(),
                   {"Content-Type": "application/json"})
    assert outcome.status == 200, f"after the hostile inputs, 你好 got {outcome.status or outcome.error}"
    replies = json.loads(outcome.body)
    assert isinstance(replies, list) and any(r.get("text") for r in replies), replies


def test_rest_channel_survives_hostile_input(capsys):
    tally = Tally("rest")
    run_all(tally, rest_cases(), judge_rest)
    _report(tally, capsys)
    still_answers_rest()
    assert not tally.failures, "REST: " + "; ".join(f[:200] for f in tally.failures)


# -- WeChat ---------------------------------------------------------------


def signed_query(timestamp: Optional[str] = None, **extra: str) -> str:
    timestamp = timestamp or str(int(time.time()))
    nonce = uuid.uuid4().hex[:10]
    signer = WeChatSigner()
    signer.add_data(TOKEN, timestamp, nonce)
    return urlencode(dict(signature=signer.signature, timestamp=timestamp, nonce=nonce, **extra))


_msg_ids = iter(range(int(time.time() * 1000) % 10**12, 10**13))
_openids = iter(range(10**9))


def wechat_xml(content: Optional[str] = "你好", openid: Optional[str] = None, msg_type: str = "text",
               inner: Optional[str] = None) -> bytes:
    # one OpenID per message: the cases are many, one user's rate (xiaoan/runtime/limits.py) would answer
    # the later ones "slow down" instead of letting the server read them
    openid = openid if openid is not None else f"o_hostile_{RUN}_{next(_openids)}"
    body = inner if inner is not None else f"<Content><![CDATA[{content}]]></Content><MsgId>{next(_msg_ids)}</MsgId>"
    return (
        f"<xml><ToUserName><![CDATA[gh_xiaoan]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{body}</xml>"
    ).encode("utf-8", "surrogatepass")


def wechat_case(name: str, body: Optional[bytes], ctype: Optional[str] = "text/xml", query: Optional[str] = None,
                method: str = "POST", **kw) -> Case:
    """Signed at send time, so a slow earlier case cannot make the timestamp stale."""

    def build() -> Case:
        q = query() if callable(query) else (query if query is not None else signed_query())
        return Case(name, method, f"{WECHAT_PATH}?{q}", body, {"Content-Type": ctype} if ctype else {}, **kw)

    return Case(name, method, WECHAT_PATH, build)  # type: ignore[arg-type]


def wechat_cases() -> List[Case]:
    cases: List[Case] = []
    for name, text in TEXTS.items():
        cases.append(wechat_case(f"text: {name}", wechat_xml(text),
                                 forbid=[TEMPLATE_RESULTS[name]] if name in TEMPLATE_RESULTS else ()))
    xxe = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           b"<xml><ToUserName>a</ToUserName><FromUserName>o_x</FromUserName><CreateTime>1</CreateTime>"
           b"<MsgType>text</MsgType><Content>&e;</Content><MsgId>1</MsgId></xml>")
    laughs = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
              b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Content>&c;</Content></xml>')
    now = int(time.time())
    cases += [
        wechat_case("CDATA breakout", wechat_xml("你好]]><MsgType>event</MsgType><![CDATA[")),
        wechat_case("sender empty", wechat_xml("你好", openid="")),
        wechat_case("sender 10,000 characters", wechat_xml("你好", openid="o" * 10_000)),
        wechat_case("sender with SQL", wechat_xml("你好", openid="o'; DROP TABLE events;--")),
        wechat_case("no Content element", wechat_xml(inner=f"<MsgId>{next(_msg_ids)}</MsgId>")),
        wechat_case("no MsgId", wechat_xml(inner="<Content>你好</Content>")),
        wechat_case("MsgId not a number", wechat_xml(inner="<Content>你好</Content><MsgId>abc'--</MsgId>")),
        wechat_case("nested elements in Content", wechat_xml(inner="<Content><a><b>你好</b></a></Content><MsgId>7</MsgId>")),
        wechat_case("image message", wechat_xml(msg_type="image", inner=f"<PicUrl>http://127.0.0.1/x.jpg</PicUrl><MediaId>m</MediaId><MsgId>{next(_msg_ids)}</MsgId>")),
        wechat_case("voice without recognition", wechat_xml(msg_type="voice", inner=f"<MediaId>m</MediaId><Format>amr</Format><MsgId>{next(_msg_ids)}</MsgId>")),
        wechat_case("voice with hostile recognition", wechat_xml(msg_type="voice", inner=f"<MediaId>m</MediaId><Format>amr</Format><Recognition>{{{{7*7}}}}</Recognition><MsgId>{next(_msg_ids)}</MsgId>"), forbid=["49"]),
        wechat_case("location message", wechat_xml(msg_type="location", inner=f"<Location_X>abc</Location_X><Location_Y>1e999</Location_Y><Scale>x</Scale><Label>l</Label><MsgId>{next(_msg_ids)}</MsgId>")),
        wechat_case("subscribe event", wechat_xml(msg_type="event", inner="<Event>subscribe</Event>")),
        wechat_case("unknown event", wechat_xml(msg_type="event", inner="<Event>no_such_event</Event>")),
        wechat_case("event without Event", wechat_xml(msg_type="event", inner="")),
        wechat_case("unknown MsgType", wechat_xml(msg_type="no_such_type", inner="<Content>你好</Content>")),
        wechat_case("no MsgType", b"<xml><FromUserName>o_x</FromUserName><Content>hi</Content></xml>"),
        wechat_case("no FromUserName", b"<xml><MsgType>text</MsgType><Content>hi</Content><MsgId>9</MsgId></xml>"),
        wechat_case("CreateTime junk", re.sub(rb"<CreateTime>\d+", b"<CreateTime>yesterday", wechat_xml(inner=f"<Content>你好</Content><MsgId>{next(_msg_ids)}</MsgId>"))),
        wechat_case("root is not xml", b"<message><Content>hi</Content></message>"),
        wechat_case("empty body", b""),
        wechat_case("whitespace body", b"  \n\t "),
        wechat_case("invalid XML", b"<xml><Content>hi</xml>"),
        wechat_case("XXE external entity", xxe),
        wechat_case("billion laughs", laughs),
        wechat_case("JSON body", b'{"FromUserName": "o_x", "Content": "hi"}', "application/json"),
        wechat_case("not UTF-8", wechat_xml("你好").replace("你好".encode(), "你好".encode("gbk"))),
        wechat_case("binary junk", bytes(range(256)) * 4, "application/octet-stream"),
        wechat_case("no content type", wechat_xml("你好"), None),
        wechat_case("form content type", wechat_xml("你好"), "application/x-www-form-urlencoded"),
        wechat_case("2 MB body", b"<xml><Content>" + b"x" * MB2 + b"</Content></xml>"),
        wechat_case("2 MB body, Content-Length lies", b"<xml>" + b"x" * MB2 + b"</xml>"),  # header fixed below
        # the signed query itself
        wechat_case("no query", wechat_xml("你好"), query=""),
        wechat_case("bad signature", wechat_xml("你好"), query=f"signature=bad&timestamp={now}&nonce=1"),
        wechat_case("timestamp not a number (signed)", wechat_xml("你好"), query=lambda: signed_query("abc")),
        wechat_case("timestamp far future (signed)", wechat_xml("你好"), query=lambda: signed_query(str(now + 10**9))),
        wechat_case("timestamp huge (signed)", wechat_xml("你好"), query=lambda: signed_query("9" * 400)),
        wechat_case("encrypt_type aes without key", wechat_xml("你好"), query=lambda: signed_query(encrypt_type="aes", msg_signature="x")),
        wechat_case("encrypt_type junk", wechat_xml("你好"), query=lambda: signed_query(encrypt_type="rot13")),
        wechat_case("repeated parameters", wechat_xml("你好"), query=lambda: signed_query() + "&signature=x&timestamp=y"),
        wechat_case("verify GET with hostile echostr", None, None, method="GET",
                    query=lambda: signed_query(echostr="<script>alert(1)</script>{{7*7}}")),
        wechat_case("verify GET unsigned", None, None, method="GET", query="echostr=x"),
        wechat_case("PUT", wechat_xml("你好"), method="PUT"),
    ]
    return cases


def test_wechat_channel_survives_hostile_input(capsys):
    assert TOKEN, "WECHAT_TOKEN must be set for this run and for the server"
    tally = Tally("wechat")
    cases = wechat_cases()
    for case in cases:
        if case.name == "2 MB body, Content-Length lies":
            build = case.body

            def lying(build=build) -> Case:
                built = build()
                built.headers["Content-Length"] = "100"
                return built

            case.body = lying  # type: ignore[assignment]
    run_all(tally, cases, judge_wechat)
    _report(tally, capsys)
    status, body = _wechat_hello()
    assert status == 200 and b"<xml>" in body, f"after the hostile inputs, WeChat 你好 got {status}: {body[:200]!r}"
    still_answers_rest()
    assert not tally.failures, "WeChat: " + "; ".join(f[:200] for f in tally.failures)


def _wechat_hello() -> tuple:
    outcome = send("POST", f"{WECHAT_PATH}?{signed_query()}", wechat_xml("你好", openid=f"o_after_{RUN}"),
                   {"Content-Type": "text/xml"})
    return outcome.status or outcome.error, outcome.body


# -- socket.io (engine.io long-polling over plain HTTP) ---------------------


def sio_path(**params: str) -> str:
    return SOCKETIO_PATH + ("?" + urlencode(params) if params else "")


def sio_handshake() -> str:
    """A fresh engine.io session id (asserts the handshake works)."""
    outcome = send("GET", sio_path(EIO="4", transport="polling"))
    assert outcome.status == 200 and outcome.body[:1] == b"0", f"socket.io handshake: {outcome.status} {outcome.body[:200]!r}"
    return json.loads(outcome.body[1:])["sid"]


def sio_post(name: str, body: bytes, connect: bool = True, ctype: str = "text/plain;charset=UTF-8", **params) -> Case:
    """A POST into a fresh session (optionally after the socket.io CONNECT packet)."""

    def build() -> Case:
        sid = sio_handshake()
        if connect:
            send("POST", sio_path(EIO="4", transport="polling", sid=sid), b"40", {"Content-Type": ctype})
        return Case(name, "POST", sio_path(EIO="4", transport="polling", sid=sid, **params), body,
                    {"Content-Type": ctype} if ctype else {})

    return Case(name, "POST", SOCKETIO_PATH, build)  # type: ignore[arg-type]


def socketio_cases() -> List[Case]:
    get = lambda name, headers=None, **params: Case(name, "GET", sio_path(**params), None, headers or {})  # noqa: E731
    message = lambda data: ("42" + json.dumps(["user_uttered", data], ensure_ascii=False)).encode()  # noqa: E731
    cases = [
        get("handshake", EIO="4", transport="polling"),
        get("handshake EIO=3", EIO="3", transport="polling"),
        get("handshake EIO=99", EIO="99", transport="polling"),
        get("handshake EIO junk", EIO="4'; DROP TABLE--", transport="polling"),
        get("handshake without EIO", transport="polling"),
        get("handshake without anything"),
        get("handshake transport junk", EIO="4", transport="carrier-pigeon"),
        get("handshake websocket without upgrade", EIO="4", transport="websocket"),
        get("handshake sid junk", EIO="4", transport="polling", sid="junk"),
        get("handshake sid 10,000 characters", EIO="4", transport="polling", sid="s" * 10_000),
        get("handshake JSONP index junk", EIO="4", transport="polling", j="alert(1)"),
        get("handshake b64", EIO="4", transport="polling", b64="1"),
        get("handshake cache-buster junk", EIO="4", transport="polling", t="{{7*7}}" * 100),
        get("handshake 8 KB query", EIO="4", transport="polling", junk="x" * 8000),
        get("handshake from a foreign origin", {"Origin": "http://evil.example"}, EIO="4", transport="polling"),
        get("handshake with Origin null", {"Origin": "null"}, EIO="4", transport="polling"),
        get("handshake with junk cookies", {"Cookie": "io=" + "x" * 4000 + "; a=\x7f"}, EIO="4", transport="polling"),
        get("handshake with a bad Authorization", {"Authorization": "Bearer junk.junk.junk"}, EIO="4", transport="polling"),
        Case("POST without session", "POST", sio_path(EIO="4", transport="polling"), b"40", {"Content-Type": "text/plain"}),
        Case("DELETE", "DELETE", sio_path(EIO="4", transport="polling")),
        sio_post("POST junk packet", b"junk", connect=False),
        sio_post("POST empty body", b"", connect=False),
        sio_post("POST binary junk", bytes(range(256)) * 4, connect=False, ctype="application/octet-stream"),
        sio_post("POST unknown packet type", b"9hello"),
        sio_post("POST connect to unknown namespace", b"40/admin,", connect=False),
        sio_post("POST broken event JSON", b'42["user_uttered",{"message":'),
        sio_post("POST event that is not a list", b'42{"message":"hi"}'),
        sio_post("POST unknown event", b'42["no_such_event",1]'),
        sio_post("POST user_uttered without session", message({"message": "你好"})),
        sio_post("POST user_uttered as number", message(123)),
        sio_post("POST user_uttered with hostile message", message({"message": "{{7*7}}${jndi:ldap://127.0.0.1/a}", "session_id": sender("sio1")})),
        sio_post("POST user_uttered with message as list", message({"message": ["a"], "session_id": sender("sio2")})),
        sio_post("POST user_uttered with bad metadata", message({"message": "你好", "session_id": sender("sio3"), "customData": "{not json"})),
        sio_post("POST session_request with junk", b'42["session_request",[1,2,3]]'),
        sio_post("POST session_request with object session id", b'42["session_request",{"session_id":{"a":1}}]'),
        sio_post("POST records separator flood", b"\x1e" * 100_000, connect=False),
    ]
    return cases


def test_socketio_oversized_polling_post_is_refused_not_left_hanging():
    case = sio_post("POST 2 MB body", b"4" + b"x" * MB2, connect=False).body()  # body holds the builder
    case.timeout = 15
    outcome = send(case.method, case.path, case.body, case.headers, case.timeout)
    assert outcome.status == 413, outcome.error
    sio_handshake()  # and the channel still serves


def test_socketio_endpoint_survives_hostile_input(capsys):
    tally = Tally("socketio")
    run_all(tally, socketio_cases(), judge_socketio)
    _report(tally, capsys)
    sio_handshake()
    still_answers_rest()
    assert not tally.failures, "socket.io: " + "; ".join(f[:200] for f in tally.failures)


# -- secrets ----------------------------------------------------------------

CARD = "6222021234567890123"
SECRETS = {
    "card number": re.compile(CARD),
    "card number without its last 4 digits": re.compile(CARD[:-4]),
    "PIN": re.compile(r"(?<!\d)123456(?!\d)"),
    "SMS code": re.compile(r"(?<!\d)482913(?!\d)"),
}


def _rest(sender_id: str, message, **extra) -> list:
    outcome = send("POST", REST_PATH, json.dumps({"sender": sender_id, "message": message, **extra}).encode(),
                   {"Content-Type": "application/json"})
    assert outcome.status == 200, f"{message!r}: {outcome.status or outcome.error}"
    return json.loads(outcome.body)


def _tracker(sender_id: str) -> str:
    token = api_token() or ""  # Rasa's HTTP API always needs its token (make run makes one)
    outcome = send("GET", f"/conversations/{quote(sender_id, safe='')}/tracker?include_events=ALL&token={quote(token)}")
    assert outcome.status == 200, f"tracker: {outcome.status or outcome.error} (is Rasa running with --enable-api?)"
    return outcome.body.decode()


def _log_paths() -> List[Path]:
    paths = []
    for variable, default in (("RASA_LOG", "var/rasa-test.log"), ("ACTIONS_LOG", "var/actions-test.log")):
        path = Path(os.environ.get(variable) or default)
        paths.append(path if path.is_absolute() else ROOT / path)
    return paths


def _leaks(text: str, patterns: Dict[str, "re.Pattern[str]"]) -> List[str]:
    return [name for name, pattern in patterns.items() if pattern.search(text)]


def test_secrets_never_reach_the_tracker_or_the_logs():
    sender_id = sender("secrets")
    for message in (f"卡号{CARD}", "密码是123456", "验证码是482913"):
        _rest(sender_id, message)
    tracker = _tracker(sender_id)
    assert json.loads(tracker)["events"], "the conversation was not stored"
    assert not _leaks(tracker, SECRETS), f"stored tracker contains: {_leaks(tracker, SECRETS)}"
    time.sleep(0.5)  # let the servers' log handlers flush
    for path in _log_paths():
        assert path.is_file(), f"{path} not found: set RASA_LOG / ACTIONS_LOG to the running servers' logs"
        leaked = _leaks(path.read_text("utf-8", "replace"), SECRETS)
        assert not leaked, f"{path} contains: {leaked}"


def test_a_secret_in_a_request_rasa_cannot_process_is_not_logged_either():
    """Rasa's REST channel logs the raw text (and the frame locals) when handling fails.

    Malformed metadata makes handling fail after the text was read; the PIN
    must not appear in the logs anyway. (Different digits from the test above,
    so the two findings stay apart.)
    """
    pin = "739164"
    paths = _log_paths()
    for path in paths:
        assert path.is_file(), f"{path} not found: set RASA_LOG / ACTIONS_LOG to the running servers' logs"
    offsets = {path: path.stat().st_size for path in paths}
    refused = send("POST", REST_PATH, json.dumps({"sender": sender("secret-fail"), "message": f"我的密码是{pin}",
                                                  "metadata": [1]}).encode(), {"Content-Type": "application/json"})
    assert refused.status in (200, 400), refused  # our channel refuses it before Rasa reads it
    time.sleep(0.5)
    for path in paths:
        with path.open("rb") as log:
            log.seek(offsets[path])
            written = log.read().decode("utf-8", "replace")
        assert not re.search(rf"(?<!\d){pin}(?!\d)", written), (
            f"{path} contains the PIN sent in a request that failed"
        )
