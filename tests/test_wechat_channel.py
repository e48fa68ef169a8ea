"""The WeChat channel, driven the way WeChat's servers drive it (no model).

Messages are built as WeChat sends them, signed with wechatpy's signer and,
in safe mode, sealed with wechatpy's ``WeChatCrypto``. They go over HTTP to a
real Sanic server on 127.0.0.1 that registers the channel exactly as Rasa's
``register`` does, with a stand-in for Rasa's agent (``StubRasa``: it
records each ``UserMessage`` and answers through the output channel, and can
be made slow or fail). A small aiohttp server on 127.0.0.1 stands in for
WeChat's customer-service API and records the token and send requests.
"""
from __future__ import annotations

import asyncio
import base64
import socket
import time
import uuid
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional, Tuple
from xml.etree import ElementTree

import aiohttp
import pytest
from aiohttp import web
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.channel import register as register_channels
from sanic import Sanic
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from channels.wechat import WeChatInput, WeChatSettings
from channels.wechat_format import choice_index, pack_texts, render_turn, utf8_len
from xiaoan import content

Sanic.test_mode = True  # many apps in one process

TOKEN = "xiaoan_wechat_token"
APP_ID = "wx5823bf96d3bd56c7"
APP_SECRET = "stand-in-secret"
AES_KEY = base64.b64encode(b"xiaoan-32-byte-test-aes-key-0001").decode().rstrip("=")
ACCOUNT = "gh_xiaoan_pos"
OPENID = "oXiaoanUser_0001"
OTHER_OPENID = "oXiaoanUser_0002"
BUTTONS = [{"title": "是的", "payload": "/affirm"}, {"title": "不是", "payload": "/deny"}]

Answer = Callable[[UserMessage], Awaitable[None]]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- what WeChat sends ---------------------------------------------------------


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def signed_query(
    timestamp: Optional[int] = None, nonce: Optional[str] = None, token: str = TOKEN
) -> Dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or uuid.uuid4().hex[:10]
    return {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": OPENID}


def _envelope(openid: str, msg_type: str, fields: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>{fields}</xml>"
    )


def text_xml(content: str, msg_id: int, openid: str = OPENID) -> str:
    return _envelope(
        openid, "text", f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
    )


def voice_xml(recognition: Optional[str], msg_id: int) -> str:
    fields = "<MediaId><![CDATA[media_v1]]></MediaId><Format><![CDATA[amr]]></Format>"
    if recognition is not None:
        fields += f"<Recognition><![CDATA[{recognition}]]></Recognition>"
    return _envelope(OPENID, "voice", fields + f"<MsgId>{msg_id}</MsgId>")


NON_TEXT = {
    "image": "<PicUrl><![CDATA[http://mmbiz.example/pic.jpg]]></PicUrl>"
    "<MediaId><![CDATA[media_i1]]></MediaId>",
    "location": "<Location_X>23.13</Location_X><Location_Y>113.26</Location_Y>"
    "<Scale>20</Scale><Label><![CDATA[广州市]]></Label>",
    "link": "<Title><![CDATA[免费领POS机]]></Title><Description><![CDATA[点击领取]]></Description>"
    "<Url><![CDATA[http://example.invalid/pos]]></Url>",
    "video": "<MediaId><![CDATA[media_m1]]></MediaId><ThumbMediaId><![CDATA[t1]]></ThumbMediaId>",
}


def non_text_xml(msg_type: str, msg_id: int) -> str:
    return _envelope(OPENID, msg_type, NON_TEXT[msg_type] + f"<MsgId>{msg_id}</MsgId>")


def event_xml(event: str) -> str:
    return _envelope(OPENID, "event", f"<Event><![CDATA[{event}]]></Event>")


# -- stand-ins -----------------------------------------------------------------


async def echo_answer(message: UserMessage) -> None:
    await message.output_channel.send_text_message(message.sender_id, f"收到：{message.text}")


class StubRasa:
    """Stands in for ``agent.handle_message``: records, optionally waits or fails, answers."""

    def __init__(
        self,
        answer: Answer = echo_answer,
        delay: float = 0.0,
        error: Optional[Exception] = None,
    ) -> None:
        self.answer = answer
        self.delay = delay
        self.error = error
        self.received: List[UserMessage] = []

    @property
    def texts(self) -> List[str]:
        return [message.text or "" for message in self.received]

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        await self.answer(message)


class CustomerServiceStandIn:
    """WeChat's token and customer-service endpoints, recording every call."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token_requests: List[Dict[str, str]] = []
        self.sends: List[Dict[str, Any]] = []
        self._runner: Optional[web.AppRunner] = None

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests.append(dict(request.query))
        if request.query.get("secret") != APP_SECRET:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        return web.json_response({"access_token": "ACCESS-TOKEN-1", "expires_in": 7200})

    async def _send(self, request: web.Request) -> web.Response:
        self.sends.append(
            {"access_token": request.query.get("access_token"), "body": await request.json()}
        )
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    @property
    def sent_texts(self) -> List[str]:
        return [send["body"]["text"]["content"] for send in self.sends]

    async def wait_for_sends(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.sends) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class WeChatPlatform:
    """Plays WeChat's servers against the channel: signs, posts, reads replies."""

    def __init__(self, url: str, session: aiohttp.ClientSession, api: CustomerServiceStandIn):
        self.url = url
        self.webhook = f"{url}/webhooks/wechat/webhook"
        self.session = session
        self.api = api
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)

    async def get(self, params: Dict[str, str]) -> Tuple[int, str]:
        async with self.session.get(self.webhook, params=params) as resp:
            return resp.status, await resp.text()

    async def post(
        self,
        body: Any,
        params: Optional[Dict[str, str]] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[int, str]:
        params = signed_query() if params is None else params
        data = body.encode("utf-8") if isinstance(body, str) else body
        async with self.session.post(
            self.webhook, params=params, data=data, headers=headers or {"Content-Type": "text/xml"}
        ) as resp:
            return resp.status, await resp.text()

    def seal(self, xml: str, tamper: bool = False) -> Tuple[str, Dict[str, str]]:
        """Safe mode as WeChat does it: Encrypt in the body, msg_signature in the query."""
        query = signed_query()
        envelope = self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
        fields = {child.tag: child.text or "" for child in ElementTree.fromstring(envelope)}
        query["encrypt_type"] = "aes"
        query["msg_signature"] = "0" * 40 if tamper else fields["MsgSignature"]
        body = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{fields['Encrypt']}]]></Encrypt></xml>"
        )
        return body, query

    async def post_encrypted(self, xml: str, tamper: bool = False) -> Tuple[int, str]:
        body, query = self.seal(xml, tamper)
        return await self.post(body, query)

    async def say(self, content: str, msg_id: int, openid: str = OPENID) -> str:
        """A text message; the passive reply's Content ("" for success)."""
        status, body = await self.post(text_xml(content, msg_id, openid))
        assert status == 200, body
        return reply_content(body)

    def open_sealed_reply(self, body: str) -> Any:
        fields = {child.tag: child.text or "" for child in ElementTree.fromstring(body)}
        plain = self.crypto.decrypt_message(
            body, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]
        )
        return parse_message(plain)


def reply_content(body: str) -> str:
    """A passive text reply's Content; "" for the bare ``success`` answer."""
    if body == "success":
        return ""
    reply = parse_message(body)
    assert reply.type == "text", body
    assert reply.source == ACCOUNT and reply.target in (OPENID, OTHER_OPENID)
    return reply.content


def credentials(api_url: str, safe_mode: bool = False, **extra: Any) -> Dict[str, Any]:
    """What credentials.yml gives the channel after Rasa's env substitution."""
    values: Dict[str, Any] = {
        "token": TOKEN,
        "app_id": APP_ID,
        "encoding_aes_key": AES_KEY if safe_mode else "",
        "app_secret": APP_SECRET,
        "api_base": api_url,
        "reply_timeout": 2.0,
        "overflow_delay": 0,
    }
    values.update(extra)
    return values


@asynccontextmanager
async def wechat(
    bot: Optional[StubRasa] = None, safe_mode: bool = False, **extra: Any
) -> AsyncIterator[WeChatPlatform]:
    """The channel on a Sanic server, registered as ``rasa run`` registers it."""
    bot = bot or StubRasa()
    api = CustomerServiceStandIn()
    await api.start()
    channel = WeChatInput.from_credentials(credentials(api.url, safe_mode, **extra))
    app = Sanic(f"wechat_{uuid.uuid4().hex}")
    app.ctx.agent = SimpleNamespace(handle_message=bot.handle_message)
    register_channels([channel], app, route="/webhooks/")
    port = _free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    await server.startup()
    try:
        async with aiohttp.ClientSession() as session:
            yield WeChatPlatform(f"http://127.0.0.1:{port}", session, api)
    finally:
        closing = server.close()
        if closing is not None:
            await closing
        await api.stop()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


# -- URL verification (GET) ----------------------------------------------------


def test_get_echoes_echostr_only_for_a_valid_signature() -> None:
    async def scenario() -> None:
        async with wechat() as wx:
            assert await wx.get({**signed_query(), "echostr": "echo-7731"}) == (200, "echo-7731")
            forged = {**signed_query(token="not-the-token"), "echostr": "echo-7731"}
            status, body = await wx.get(forged)
            assert status == 403 and "echo-7731" not in body
            assert (await wx.get({"echostr": "echo-7731"}))[0] == 403
            stale = {**signed_query(timestamp=int(time.time()) - 301), "echostr": "e"}
            assert (await wx.get(stale))[0] == 403
            async with wx.session.get(f"{wx.url}/webhooks/wechat/") as resp:
                assert resp.status == 200 and await resp.json() == {"status": "ok"}

    run(scenario)


# -- who may post -------------------------------------------------------------


def test_post_with_bad_signature_is_refused_before_rasa() -> None:
    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot) as wx:
            status, _ = await wx.post(text_xml("转账失败", 1), signed_query(token="wrong"))
            assert status == 403
            assert (await wx.post(text_xml("转账失败", 2), {}))[0] == 403
            tampered = {**signed_query(), "signature": "0" * 40}
            assert (await wx.post(text_xml("转账失败", 3), tampered))[0] == 403
        assert bot.received == []

    run(scenario)


def test_stale_timestamp_is_refused_as_a_replay() -> None:
    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot) as wx:
            old = signed_query(timestamp=int(time.time()) - 301)
            assert (await wx.post(text_xml("转账失败", 4), old))[0] == 403
            fresh = signed_query(timestamp=int(time.time()) - 200)
            assert (await wx.post(text_xml("转账失败", 5), fresh))[0] == 200
        assert bot.texts == ["转账失败"]

    run(scenario)


# -- attacks (issue 19: "WeChat callbacks can be forged") ----------------------
#
# Each test plays one attacker; the honest paths are the tests around them.

NONCE_STORE_ENV = "XIAOAN_WECHAT_REDIS_URL"  # shared nonce store (make scale); unset: in-process


def _redis_reachable(port: int = 6379) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _in_process_nonce_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own channel memory unless it asks for the shared store."""
    monkeypatch.delenv(NONCE_STORE_ENV, raising=False)


def test_attack_forged_callback_with_no_token_configured_is_refused(caplog) -> None:
    """No WECHAT_TOKEN: 503 for everyone, whatever token the forger guessed, and a log line saying why."""

    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot, token="${WECHAT_TOKEN}") as wx:
            for guess in ("", "xiaoan-scale-test", "xiaoan-live-test", TOKEN):
                status, _ = await wx.post(text_xml("你好", 220), signed_query(token=guess))
                assert status == 503, guess
                status, body = await wx.get({**signed_query(token=guess), "echostr": "echo-220"})
                assert status == 503 and "echo-220" not in body
            assert (await wx.post(text_xml("你好", 221), {}))[0] == 503
        async with wechat(bot, safe_mode=True, token="") as wx:  # safe mode does not help without a token
            assert (await wx.post_encrypted(text_xml("你好", 222)))[0] == 503
        assert bot.received == []

    caplog.set_level("WARNING")
    run(scenario)
    assert "WECHAT_TOKEN is not configured" in caplog.text


def test_attack_plaintext_in_safe_mode_is_refused() -> None:
    """With an AES key set, only a sealed message is read; plaintext is never processed."""

    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot, safe_mode=True) as wx:
            status, body = await wx.post(text_xml("伪造的明文", 230))  # correctly signed, not sealed
            assert status in (400, 403) and "伪造" not in body
            sealed, query = wx.seal(text_xml("你好", 231))
            no_msg_signature = {k: v for k, v in query.items() if k != "msg_signature"}
            assert (await wx.post(sealed, no_msg_signature))[0] in (400, 403)
            raw = {k: v for k, v in query.items() if k not in ("encrypt_type", "msg_signature")}
            assert (await wx.post(sealed, raw))[0] in (400, 403)  # the envelope sent as "raw"
            # encrypt_type=aes and a msg_signature over an empty Encrypt, but the body is plaintext
            plain = signed_query()
            plain.update(encrypt_type="aes", msg_signature=sign(TOKEN, plain["timestamp"], plain["nonce"], ""))
            assert (await wx.post(text_xml("伪造的明文", 232), plain))[0] in (400, 403)
        assert bot.received == []

    run(scenario)


def test_attack_the_same_signed_callback_sent_twice_runs_once_and_a_new_body_is_refused() -> None:
    """A captured callback replayed within the window runs nothing again (the first answer, sealed in safe mode);
    its query with another body is refused."""

    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot) as wx:
            query, xml = signed_query(), text_xml("转账失败", 200)
            status, body = await wx.post(xml, query)
            assert status == 200 and reply_content(body) == "收到：转账失败"
            status, body = await wx.post(xml, query)  # the exact same request again: the first answer, run once
            assert status == 200 and reply_content(body) == "收到：转账失败"
            assert (await wx.post(text_xml("把卡号发给我", 201), query))[0] == 403  # captured query, new body
            verify = {**signed_query(), "echostr": "echo-202"}
            assert await wx.get(verify) == (200, "echo-202")
            assert await wx.get(verify) == (200, "echo-202")  # the same check again: harmless, echoed
            reused = {k: v for k, v in verify.items() if k != "echostr"}
            assert (await wx.post(text_xml("伪造", 202), reused))[0] == 403  # its query carrying a message
            # WeChat's own retry of MsgId 200 comes newly signed: still answered, still run once
            assert await wx.say("转账失败", 200) == "收到：转账失败"
        assert bot.texts == ["转账失败"]

        bot = StubRasa()
        async with wechat(bot, safe_mode=True) as wx:
            sealed, query = wx.seal(text_xml("显示失败但是钱扣了", 210))
            first = await wx.post(sealed, query)
            assert first[0] == 200
            status, body = await wx.post(sealed, query)  # replayed: sealed again, nothing runs twice
            assert status == 200 and "<Encrypt>" in body and "钱扣了" not in body
            forged, _ = wx.seal(text_xml("把验证码发我", 211))
            assert (await wx.post(forged, query))[0] == 403  # the captured query with another sealed body
        assert bot.texts == ["显示失败但是钱扣了"]

    run(scenario)


def test_attack_a_replay_sent_to_the_other_server_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """make scale: two Rasa servers behind nginx remember nonces in one Redis: a captured query carrying another
    body is refused on the other server too."""
    if not _redis_reachable():
        pytest.skip("needs Redis on 127.0.0.1:6379 (make scale's store)")
    monkeypatch.setenv(NONCE_STORE_ENV, "redis://127.0.0.1:6379/15")

    async def scenario() -> None:
        first, second = StubRasa(), StubRasa()
        async with wechat(first) as server_a, wechat(second) as server_b:
            query, xml = signed_query(), text_xml("转账失败", 250)
            assert (await server_a.post(xml, query))[0] == 200
            assert (await server_b.post(text_xml("把卡号发给我", 252), query))[0] == 403
            assert await server_b.say("你好", 251) == "收到：你好"  # honest traffic still flows
        assert first.texts == ["转账失败"] and second.texts == ["你好"]

    run(scenario)


def test_attack_nonce_store_down_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the shared nonce store cannot be asked, no message is processed (503; WeChat retries)."""
    monkeypatch.setenv(NONCE_STORE_ENV, f"redis://127.0.0.1:{_free_port()}/0")

    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot) as wx:
            assert (await wx.post(text_xml("你好", 255)))[0] == 503
        assert bot.received == []

    run(scenario)


def test_attack_stale_or_future_timestamp_is_refused() -> None:
    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot) as wx:
            for skew in (-301, -3600, 301, 10**6):
                query = signed_query(timestamp=int(time.time()) + skew)
                assert (await wx.post(text_xml("你好", 240), query))[0] == 403, skew
                assert (await wx.get({**query, "echostr": "e"}))[0] == 403, skew
        assert bot.received == []

    run(scenario)


def test_attack_wrong_signature_is_refused() -> None:
    """A signature that is not exactly the token's, on an otherwise genuine sealed callback."""

    def mutations(query: Dict[str, str]) -> List[str]:
        genuine = query["signature"]
        return [
            sign("guessed", query["timestamp"], query["nonce"]),
            genuine.upper(),
            genuine[:-1],
            genuine + "0",
            "签名" * 20,  # not ASCII: a refusal, not a 500
            "0" * 4000,
        ]

    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot, safe_mode=True) as wx:
            for index in range(6):
                sealed, query = wx.seal(text_xml("你好", 245))
                forged = {**query, "signature": mutations(query)[index]}
                assert (await wx.post(sealed, forged))[0] == 403, forged["signature"][:12]
                verify = {**signed_query(), "echostr": "e"}
                verify["signature"] = mutations(verify)[index]
                assert (await wx.get(verify))[0] == 403
            sealed, query = wx.seal(text_xml("你好", 246))
            for bad in ("0" * 40, query["msg_signature"].upper(), "签名", ""):
                status = (await wx.post(sealed, {**query, "msg_signature": bad}))[0]
                assert status in (400, 403), bad
            other, _ = wx.seal(text_xml("伪造", 247))  # a genuine ciphertext under another msg_signature
            assert (await wx.post(other, query))[0] == 403
        assert bot.received == []

    run(scenario)


def test_attack_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """URL verification, the POST signature and msg_signature all go through hmac.compare_digest."""
    import hmac

    compared: List[Tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    checked: List[str] = []

    async def scenario() -> None:
        async with wechat() as wx:
            verify = {**signed_query(), "echostr": "e1"}
            assert (await wx.get(verify))[0] == 200
            plain = signed_query()
            assert (await wx.post(text_xml("你好", 260), plain))[0] == 200
        async with wechat(safe_mode=True) as wx:
            sealed, query = wx.seal(text_xml("你好", 261))
            assert (await wx.post(sealed, query))[0] == 200
        checked.extend([verify["signature"], plain["signature"], query["signature"], query["msg_signature"]])

    run(scenario)
    seen = {x.decode() if isinstance(x, bytes) else x for pair in compared for x in pair}
    assert all(signature in seen for signature in checked)


# -- plain and safe mode ------------------------------------------------------


def test_plain_text_message_gets_a_passive_text_reply() -> None:
    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot) as wx:
            status, body = await wx.post(text_xml("POS机转账失败了怎么办", 10))
            assert status == 200
            reply = parse_message(body)
            assert (reply.type, reply.source, reply.target) == ("text", ACCOUNT, OPENID)
            assert reply.content == "收到：POS机转账失败了怎么办"
        message = bot.received[0]
        assert (message.input_channel, message.message_id) == ("wechat", f"{OPENID}:10")
        assert message.output_channel.name() == "wechat"

    run(scenario)


def test_safe_mode_decrypts_the_message_and_encrypts_the_reply() -> None:
    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot, safe_mode=True) as wx:
            status, body = await wx.post_encrypted(text_xml("显示失败但是钱扣了", 20))
            assert status == 200
            assert "显示失败" not in body and "<Encrypt>" in body
            reply = wx.open_sealed_reply(body)
            assert (reply.type, reply.target) == ("text", OPENID)
            assert reply.content == "收到：显示失败但是钱扣了"

            status, _ = await wx.post_encrypted(text_xml("伪造的消息", 21), tamper=True)
            assert status == 403
            # compatibility mode: plaintext fields beside Encrypt; only the ciphertext is read
            sealed, query = wx.seal(text_xml("你好", 22))
            beside = sealed.replace("</xml>", "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[伪造]]></Content></xml>")
            status, body = await wx.post(beside, query)
            assert status == 200 and wx.open_sealed_reply(body).content == "收到：你好"
        assert bot.texts == ["显示失败但是钱扣了", "你好"]

    run(scenario)


def test_encrypted_post_without_a_configured_key_is_refused() -> None:
    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot, safe_mode=False) as wx:
            status, _ = await wx.post_encrypted(text_xml("你好", 23))
            assert status == 403
        assert bot.received == []

    run(scenario)


# -- hostile bodies -----------------------------------------------------------

MALFORMED = [
    "<xml><ToUserName>",
    "this is not xml",
    "<xml>只有文字</xml>",
    "<html><body>hi</body></html>",
    "<xml><FromUserName><![CDATA[oX]]></FromUserName></xml>",
    "",
    b"<xml>\xff\xfe</xml>",
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_xml_is_a_400_not_a_500(body: Any) -> None:
    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot) as wx:
            status, _ = await wx.post(body)
            assert status == 400
        assert bot.received == []

    run(scenario)


XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    + text_xml("&xxe;", 30)
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "哈哈哈哈哈哈哈哈哈哈">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    + text_xml("&c;", 31)
)


@pytest.mark.parametrize("payload", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_entities_are_never_resolved(payload: str) -> None:
    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot) as wx:
            status, body = await wx.post(payload)
            assert status == 400 and "root:" not in body
        async with wechat(bot, safe_mode=True) as wx:
            status, body = await wx.post_encrypted(payload)  # inside the ciphertext
            assert status == 400 and "root:" not in body
            sealed, query = wx.seal(text_xml("你好", 32))  # around it
            status, body = await wx.post(payload.replace("</xml>", sealed[5:]), query)
            assert status == 400 and "root:" not in body
        assert bot.received == []

    run(scenario)


def test_oversized_body_is_413_without_being_read() -> None:
    async def scenario() -> None:
        bot = StubRasa()
        big = text_xml("转" * 34_000, 40)  # about 100 KB
        assert len(big.encode()) > 100_000
        async with wechat(bot) as wx:
            status, _ = await wx.post(big)
            assert status == 413

            async def chunked() -> AsyncIterator[bytes]:  # no Content-Length at all
                data = big.encode()
                for start in range(0, len(data), 8192):
                    yield data[start : start + 8192]

            try:
                status, _ = await wx.post(chunked())
                assert status == 413
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                pass  # the server may close before the client finished writing
            assert await wx.say("还在吗", 41) == "收到：还在吗"  # the server is fine
        assert bot.texts == ["还在吗"]

    run(scenario)


# -- conversations ------------------------------------------------------------


def test_openid_is_the_sender_id_across_messages() -> None:
    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot) as wx:
            await wx.say("转账失败", 50)
            await wx.say("尾号5678", 51)
            await wx.say("你好", 52, openid=OTHER_OPENID)
        assert [m.sender_id for m in bot.received] == [OPENID, OPENID, OTHER_OPENID]

    run(scenario)


def test_retried_msgid_runs_the_dialogue_once_and_gets_the_same_answer() -> None:
    async def scenario() -> None:
        counter = {"turn": 0}

        async def numbered(message: UserMessage) -> None:
            counter["turn"] += 1
            await message.output_channel.send_text_message(
                message.sender_id, f"第{counter['turn']}次处理：{message.text}"
            )

        bot = StubRasa(numbered, delay=0.4)
        async with wechat(bot) as wx:
            xml = text_xml("刷卡没成功", 60)
            first, retry = await asyncio.gather(wx.post(xml), wx.post(xml))
            late_retry = await wx.post(xml)
        answers = {reply_content(body) for _, body in (first, retry, late_retry)}
        assert answers == {"第1次处理：刷卡没成功"}
        assert len(bot.received) == 1

    run(scenario)


def test_slow_answer_gets_success_then_arrives_through_the_api() -> None:
    async def scenario() -> None:
        bot = StubRasa(delay=1.5)
        async with wechat(bot, reply_timeout=0.3) as wx:
            started = time.monotonic()
            status, body = await wx.post(text_xml("一直显示处理中", 70))
            assert (status, body) == (200, "success")
            assert time.monotonic() - started < 1.2  # did not wait for the bot
            status, body = await wx.post(text_xml("一直显示处理中", 70))  # WeChat's retry
            assert (status, body) == (200, "success")
            await wx.api.wait_for_sends(1)
            await asyncio.sleep(0.3)  # and nothing more comes
            api = wx.api
        assert len(bot.received) == 1
        assert api.sends == [
            {
                "access_token": "ACCESS-TOKEN-1",
                "body": {
                    "touser": OPENID,
                    "msgtype": "text",
                    "text": {"content": "收到：一直显示处理中"},
                },
            }
        ]
        assert api.token_requests == [
            {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}
        ]

    run(scenario)


def test_long_answer_is_split_between_passive_reply_and_api() -> None:
    parts = ["甲" * 1000, "乙" * 600, "丙" * 100]

    async def several(message: UserMessage) -> None:
        for part in parts:
            await message.output_channel.send_text_message(message.sender_id, part)

    async def scenario() -> None:
        async with wechat(StubRasa(several)) as wx:
            passive = await wx.say("对方说没收到", 80)
            await wx.api.wait_for_sends(3)
            await asyncio.sleep(0.1)
            api = wx.api
        assert 0 < utf8_len(passive) <= 2048
        assert len(api.sends) == 3 and all(utf8_len(t) <= 2048 for t in api.sent_texts)
        assert len(api.token_requests) == 1  # the token is cached between sends
        delivered = "".join([passive, *api.sent_texts]).replace("\n", "")
        assert delivered == "".join(parts)

    run(scenario)


def test_buttons_become_numbered_choices_and_numbers_map_back() -> None:
    async def ask(message: UserMessage) -> None:
        if message.text and message.text.startswith("/"):
            await message.output_channel.send_text_message(
                message.sender_id, f"好的（{message.text}）"
            )
        else:
            await message.output_channel.send_text_with_buttons(
                message.sender_id, "是显示失败但钱被扣了吗？", BUTTONS
            )

    async def scenario() -> None:
        bot = StubRasa(ask)
        async with wechat(bot) as wx:
            question = await wx.say("转账出问题了", 90)
            choices = [content.render("utter_wechat_choice", number=n, title=b["title"]) for n, b in enumerate(BUTTONS, 1)]
            assert question == "\n".join(["是显示失败但钱被扣了吗？", *choices])
            assert "1" in choices[0] and "是的" in choices[0] and "2" in choices[1]
            assert await wx.say("1", 91) == "好的（/affirm）"
            assert await wx.say("1", 92) != "好的（/affirm）"  # no buttons pending: plain "1"
            await wx.say("２", 93)  # full-width digit, as phones often type it
            await wx.say("3", 94, openid=OTHER_OPENID)  # another user's own state
        assert bot.texts == ["转账出问题了", "/affirm", "1", "/deny", "3"]

    run(scenario)


def test_typed_text_goes_to_rasa_as_typed_and_is_never_logged(caplog) -> None:
    """The channel only translates the protocol: masking is the ingress's, inside Rasa (tests/test_ingress.py)."""

    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot) as wx:
            await wx.say("卡号6222021234567890123，密码是123456", 95)
        assert bot.texts == ["卡号6222021234567890123，密码是123456"]
        assert "secrets_masked" not in bot.received[0].metadata

    caplog.set_level("DEBUG")
    run(scenario)
    assert "6222021234567890123" not in caplog.text and "123456" not in caplog.text


# -- other message kinds ------------------------------------------------------


def test_subscribe_gets_a_welcome_and_other_events_success() -> None:
    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot) as wx:
            status, body = await wx.post(event_xml("subscribe"))
            assert status == 200 and reply_content(body) == content.render("utter_wechat_welcome")
            assert await wx.post(event_xml("unsubscribe")) == (200, "success")
            assert await wx.post(event_xml("TEMPLATESENDJOBFINISH")) == (200, "success")
        assert bot.received == []

    run(scenario)


def test_voice_with_recognition_is_handled_as_text() -> None:
    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot) as wx:
            status, body = await wx.post(voice_xml("POS机读不了卡", 100))
            assert status == 200 and reply_content(body) == "收到：POS机读不了卡"
            status, body = await wx.post(voice_xml(None, 101))
            assert reply_content(body) == content.render("utter_wechat_text_only")
        assert bot.texts == ["POS机读不了卡"]

    run(scenario)


@pytest.mark.parametrize("msg_type", sorted(NON_TEXT))
def test_non_text_messages_get_a_polite_request_for_text(msg_type: str) -> None:
    async def scenario() -> None:
        bot = StubRasa()
        async with wechat(bot) as wx:
            status, body = await wx.post(non_text_xml(msg_type, 110))
            assert status == 200 and reply_content(body) == content.render("utter_wechat_text_only")
        assert bot.received == []

    run(scenario)


def test_error_inside_rasa_is_a_busy_reply_not_a_500() -> None:
    async def scenario() -> None:
        bot = StubRasa(error=RuntimeError("tracker store down"))
        async with wechat(bot) as wx:
            status, body = await wx.post(text_xml("转账失败", 120))
            assert status == 200 and reply_content(body) == content.render("utter_system_busy")  # the one busy answer
        assert len(bot.received) == 1

    run(scenario)


# -- settings and text layout -------------------------------------------------


def test_a_turn_is_flattened_with_the_channels_own_words_from_the_domain() -> None:
    turn = render_turn([
        {"text": "请选择", "buttons": BUTTONS},
        {"image": "https://example.test/a.png", "quick_replies": [{"title": "转人工", "payload": "/request_human"}]},
    ])
    assert turn.choices == ["/affirm", "/deny", "/request_human"]  # numbered across the whole turn
    assert turn.texts == [
        "\n".join(["请选择", *(content.render("utter_wechat_choice", number=n, title=t) for n, t in ((1, "是的"), (2, "不是")))]),
        "\n".join([content.render("utter_wechat_choice", number=3, title="转人工"),
                    content.render("utter_wechat_image", url="https://example.test/a.png")]),
    ]
    assert not any(content.placeholders(text) for text in turn.texts)


def test_credentials_treat_empty_and_unsubstituted_values_as_unset() -> None:
    settings = WeChatSettings.from_credentials(
        {
            "token": "tok",
            "app_id": "${WECHAT_APP_ID}",
            "encoding_aes_key": "",
            "app_secret": None,
            "api_base": "${WECHAT_API_BASE}",
        }
    )
    assert (settings.token, settings.app_id, settings.app_secret) == ("tok", None, None)
    assert settings.api_base == "https://api.weixin.qq.com"
    assert not settings.safe_mode and settings.reply_timeout == 4.5
    assert WeChatInput.name() == "wechat"
    with pytest.raises(ValueError):
        WeChatSettings.from_credentials(
            {"token": "t", "app_id": "wx1", "encoding_aes_key": "short"}
        )
    with pytest.raises(ValueError):
        WeChatSettings.from_credentials({"token": "t", "encoding_aes_key": AES_KEY})
    safe = WeChatSettings.from_credentials(
        {"token": "t", "app_id": "wx1", "encoding_aes_key": AES_KEY, "reply_timeout": "3"}
    )
    assert safe.safe_mode and safe.reply_timeout == 3.0


def test_packing_keeps_order_and_the_byte_limit() -> None:
    chunks = pack_texts(["短句一", "短句二", "长" * 700])
    assert chunks[0] == "短句一\n\n短句二" and all(utf8_len(c) <= 2048 for c in chunks)
    assert "".join(chunks[1:]) == "长" * 700
    assert pack_texts([]) == []
    numbers = ["1", " ２ ", "0", "1a", "一", ""]
    assert [choice_index(t) for t in numbers] == [0, 1, None, None, None, None]


@pytest.mark.parametrize("timestamp", ["9" * 400, "-5", "1e9", "１７００"])
def test_absurd_timestamps_are_refused_not_crashed(timestamp: str) -> None:
    """A correctly signed but absurd timestamp is a 403, never an OverflowError (500)."""
    from channels.wechat_protocol import RequestRejected, SignedQuery, verify_query

    signer = WeChatSigner()
    signer.add_data(TOKEN, timestamp, "nonce1")
    query = SignedQuery(signature=signer.signature, timestamp=timestamp, nonce="nonce1")
    with pytest.raises(RequestRejected) as refused:
        verify_query(TOKEN, query)
    assert refused.value.status == 403


# -- the seen-callback memory -------------------------------------------------


def test_seen_callbacks_are_forgotten_after_the_window_and_kept_within_it() -> None:
    from channels.wechat_state import MemoryNonces

    now = [1000.0]
    seen = MemoryNonces(ttl=600.0, clock=lambda: now[0])

    async def scenario() -> None:
        assert await seen.first_use("a") and not await seen.first_use("a")
        now[0] += 599.0
        assert await seen.first_use("b") and not await seen.first_use("a")
        now[0] += 2.0  # "a" is past its window (its timestamp is stale by now): forgotten
        assert await seen.first_use("c") and len(seen) == 2
        assert not await seen.first_use("b")

    run(scenario)


def test_the_shared_store_sets_once_with_an_expiry_and_fails_closed() -> None:
    from channels.wechat_state import NonceStoreUnavailable, RedisNonces, seen_callbacks

    class FakeRedis:
        def __init__(self, down: bool = False) -> None:
            self.down = down
            self.calls: List[Tuple[str, Dict[str, Any]]] = []
            self.keys: set = set()

        async def set(self, name: str, value: bytes, **options: Any) -> Optional[bool]:
            if self.down:
                raise ConnectionError("Connection refused")
            self.calls.append((name, options))
            if options.get("nx") and name in self.keys:
                return None
            self.keys.add(name)
            return True

    async def scenario() -> None:
        client = FakeRedis()
        store = RedisNonces("redis://unused", ttl=600.0, client=client)
        assert await store.first_use("k") and not await store.first_use("k")
        assert client.calls[0] == ("xiaoan:wechat:seen:k", {"nx": True, "ex": 600})
        with pytest.raises(NonceStoreUnavailable):
            await RedisNonces("redis://unused", ttl=600.0, client=FakeRedis(down=True)).first_use("k")

    run(scenario)
    assert type(seen_callbacks(600.0)).__name__ == "MemoryNonces"  # XIAOAN_WECHAT_REDIS_URL unset
