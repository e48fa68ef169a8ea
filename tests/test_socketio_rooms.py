"""The socket.io channel delivers bot replies to the web page (no browser, no model).

The trap: from python-socketio 5.10 on, ``AsyncServer.enter_room`` is a
coroutine that Rasa 3.6.21's own socketio channel never awaits. With
``session_persistence: true`` the browser never joins its session room and
every ``bot_uttered`` goes nowhere: the page stays silent. Our
``channels.socketio.SocketIOInput`` awaits it. These tests serve our channel
on a real Sanic server on 127.0.0.1 with a stand-in for Rasa's agent
(tests/stand_ins/channel_server.py) and talk to it the way rasa-webchat does
(tests/clients.py). Rasa's own channel failing under the same load is
evidence about upstream, not a check of 小安: bench/evidence/socketio_stock_channel.py
(`make evidence`).
"""
from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any, Dict

import aiohttp
import pytest
import socketio
import yaml
from rasa.core.channels.channel import InputChannel

from channels.socketio import SocketIOInput, parse_allowed_origins
from tests.clients import WebchatClient
from tests.stand_ins.channel_server import BUTTON, ChannelServer

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = ROOT / "credentials.yml"
PAGE_ORIGIN = "http://127.0.0.1:8080"
SETTINGS = {
    "user_message_evt": "user_uttered",
    "bot_message_evt": "bot_uttered",
    "session_persistence": True,
    "metadata_key": "customData",
}
ENTER_ROOM_IS_COROUTINE = inspect.iscoroutinefunction(socketio.AsyncServer.enter_room)


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


async def _one_round_trip(channel: InputChannel, reply_timeout: float) -> Dict[str, Any]:
    async with ChannelServer(channel) as server:
        client = WebchatClient()
        try:
            session_id = await client.connect(server.url)
            await client.say(session_id, "刷卡没成功", {"language": "zh", "terminal_id": "10000002"})
            reply = await client.next_reply(reply_timeout)
        finally:
            await client.close()
        message = server.received[0]
        assert message.sender_id == session_id
        assert message.metadata == {"language": "zh", "terminal_id": "10000002"}
        return reply


def test_bot_reply_reaches_the_page() -> None:
    reply = _run(_one_round_trip(SocketIOInput.from_credentials(SETTINGS), reply_timeout=10))
    assert reply["text"] == "收到：刷卡没成功"
    assert reply["quick_replies"] == [{"content_type": "text", **BUTTON}]


def test_a_reloaded_page_gets_the_replies_of_its_session() -> None:
    """A reload is a new socket that asks for the old session id (params.storage: local)."""

    async def scenario() -> None:
        async with ChannelServer(SocketIOInput.from_credentials(SETTINGS)) as server:
            first, second = WebchatClient(), WebchatClient()
            try:
                session_id = await first.connect(server.url)
                await first.close()
                assert await second.connect(server.url, session_id=session_id) == session_id
                await second.say(session_id, "POS机一直提示通讯失败", {"language": "zh"})
                reply = await second.next_reply(10)
            finally:
                await second.close()
            assert reply["text"] == "收到：POS机一直提示通讯失败"
            assert [m.sender_id for m in server.received] == [session_id]

    _run(scenario())


async def _polling_handshake(url: str, origin: str) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{url}/socket.io/", params={"EIO": "4", "transport": "polling"}, headers={"Origin": origin}
        ) as response:
            await response.read()
            return response


def test_only_the_page_origin_may_open_a_socket() -> None:
    """Browsers send Origin; websockets are not covered by CORS, so engine.io checks it."""

    async def scenario() -> None:
        channel = SocketIOInput.from_credentials(SETTINGS)
        async with ChannelServer(channel, cors_origins=[PAGE_ORIGIN]) as server:
            refused = await _polling_handshake(server.url, "http://evil.example")
            accepted = await _polling_handshake(server.url, PAGE_ORIGIN)
        assert refused.status == 400
        assert accepted.status == 200
        # one header only, even with Sanic-CORS (`--cors`) on the app: a browser
        # refuses "http://127.0.0.1:8080, http://127.0.0.1:8080"
        assert accepted.headers.getall("Access-Control-Allow-Origin") == [PAGE_ORIGIN]

    _run(scenario())


def test_allowed_origins_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEB_PORT", raising=False)
    assert parse_allowed_origins(None) == ["http://127.0.0.1:8080", "http://localhost:8080"]
    monkeypatch.setenv("WEB_PORT", "9090")
    assert parse_allowed_origins("") == ["http://127.0.0.1:9090", "http://localhost:9090"]
    assert parse_allowed_origins("https://a.example/, https://b.example") == [
        "https://a.example",
        "https://b.example",
    ]
    assert parse_allowed_origins(["http://x.example:1"]) == ["http://x.example:1"]
    assert parse_allowed_origins(["*"]) == "*"


def test_credentials_use_a_socketio_channel_that_delivers() -> None:
    """credentials.yml must give the page a socket.io channel that does not fall into the trap."""
    credentials = yaml.safe_load(CREDENTIALS.read_text(encoding="utf-8")) or {}
    ours = "channels.socketio.SocketIOInput"
    assert ours in credentials or "socketio" in credentials, (
        "credentials.yml has no socket.io channel: the web page (web/) needs "
        f"`{ours}:` with session_persistence: true and metadata_key: customData"
    )
    if "socketio" in credentials:
        assert not ENTER_ROOM_IS_COROUTINE, (
            "credentials.yml uses Rasa's own `socketio:` channel, which never awaits "
            "python-socketio's (coroutine) enter_room: bot replies never reach the page. "
            f"Use `{ours}:` instead."
        )
    settings = credentials.get(ours) or credentials.get("socketio") or {}
    assert settings.get("session_persistence") is True
    assert settings.get("metadata_key") == "customData"
