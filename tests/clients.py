"""Talking to a 小安 server the way its clients do: REST, the tracker API, WeChat, the chat page's socket.io.

REST, the tracker API and WeChat use plain `urllib`, so a test or a script
can use them without an event loop; `WebchatClient` is asynchronous, as
python-socketio's client is. Used by the live, fault and scale-out tests and
by bench/evidence/.
"""
from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

from wechatpy.utils import WeChatSigner


def identity_token(subject: str, lifetime_s: int = 3600) -> str:
    """A token for `subject` (C0001, M0001), signed as a bank's portal signs it, with the secret the servers
    verify with (`XIAOAN_IDENTITY_SECRET` or `_FILE`, which `python -m ops.local -- …` passes to its command)."""
    from xiaoan.identity.tokens import sign

    return sign(subject, lifetime_s=lifetime_s)


def bind_wechat(openid: str, subject: str, store_url: Optional[str] = None) -> None:
    """What the bank's binding flow (`make bind-wechat`) does, in the store the servers read (`store_url`, else the
    one this process's environment names, as `python -m ops.local -- …` passes it)."""
    from xiaoan.identity import _store_for, store_url as configured_url

    _store_for(store_url or configured_url()).bind_wechat(openid, subject)


def rest_say(
    base_url: str, sender: str, text: str, timeout: float = 60.0, message_id: Optional[str] = None,
    identity: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """The bot's messages for one user message on the REST channel (`message_id`: safe to retry; `identity`: a
    token, sent in the metadata as a bank's app sends it)."""
    payload: Dict[str, Any] = {"sender": sender, "message": text}
    if message_id is not None:
        payload["message_id"] = message_id
    if identity is not None:
        payload["metadata"] = {"identity": identity}
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def said(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def api_token() -> Optional[str]:
    """The HTTP API's token the servers under test use: RASA_AUTH_TOKEN (ops.local sets it for the command it
    runs), else the file XIAOAN_AUTH_TOKEN_FILE names."""
    token = os.environ.get("RASA_AUTH_TOKEN")
    path = os.environ.get("XIAOAN_AUTH_TOKEN_FILE")
    if not token and path and os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    return token or None


def tracker(base_url: str, sender: str, token: Optional[str] = None) -> Dict[str, Any]:
    """The stored conversation through Rasa's HTTP API (needs ``--enable-api`` and its token: `api_token()` unless
    given)."""
    url = f"{base_url}/conversations/{quote(sender, safe='')}/tracker"
    token = token or api_token()
    if token:
        url += f"?token={quote(token)}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def user_texts(events: List[Dict[str, Any]]) -> List[str]:
    return [e.get("text") or "" for e in events if e.get("event") == "user"]


def wechat_text_xml(openid: str, content: str, msg_id: Optional[int] = None) -> str:
    msg_id = msg_id if msg_id is not None else uuid.uuid4().int % 10**15
    return (
        f"<xml><ToUserName><![CDATA[gh_xiaoan]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def wechat_post(
    base_url: str, token: str, xml: str, timestamp: Optional[int] = None, timeout: float = 30.0,
    openid: Optional[str] = None,
) -> Tuple[int, str]:
    """(status, body) of one signed callback, as WeChat's servers send it (with the OpenID in the query)."""
    timestamp = timestamp or int(time.time())
    nonce = uuid.uuid4().hex[:10]
    signer = WeChatSigner()
    signer.add_data(token, str(timestamp), nonce)
    url = (f"{base_url}/webhooks/wechat/webhook?signature={signer.signature}"
           f"&timestamp={timestamp}&nonce={nonce}" + (f"&openid={quote(openid)}" if openid else ""))
    request = urllib.request.Request(url, xml.encode(), {"Content-Type": "text/xml"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class WebchatClient:
    """Talks like rasa-webchat: ``session_request``, then ``user_uttered`` with the session id.

    Uses the polling transport: python-engineio's websocket client needs a
    newer aiohttp than the one Rasa 3.6 pins. The rooms are the same.
    """

    def __init__(self) -> None:
        import socketio

        self.sio = socketio.AsyncClient(reconnection=False)
        self.confirmed: asyncio.Queue = asyncio.Queue()
        self.bot: asyncio.Queue = asyncio.Queue()
        self.sio.on("session_confirm", self.confirmed.put)
        self.sio.on("bot_uttered", self.bot.put)

    async def connect(self, url: str, session_id: Optional[str] = None, origin: Optional[str] = None) -> str:
        headers = {"Origin": origin} if origin else {}
        await self.sio.connect(url, socketio_path="/socket.io/", transports=["polling"], headers=headers)
        await self.sio.emit("session_request", {"session_id": session_id})
        return await asyncio.wait_for(self.confirmed.get(), 10)

    async def say(self, session_id: str, text: str, custom_data: Dict[str, Any]) -> None:
        await self.sio.emit(
            "user_uttered", {"message": text, "customData": custom_data, "session_id": session_id}
        )

    async def next_reply(self, timeout: float) -> Dict[str, Any]:
        return await asyncio.wait_for(self.bot.get(), timeout)

    async def close(self) -> None:
        """Hang up as a closing page does (the server hears it: the session is free for the next socket), without
        waiting out the long poll a polite polling disconnect waits for."""
        import engineio

        eio = self.sio.eio
        tasks = [t for t in (eio.read_loop_task, eio.write_loop_task) if t is not None]
        if eio.state == "connected" and eio.write_loop_task is not None:
            await eio._send_packet(engineio.packet.Packet(engineio.packet.CLOSE))
            try:  # the write loop posts it
                await asyncio.wait_for(eio.queue.join(), 3)
            except asyncio.TimeoutError:
                pass
        await eio.disconnect(abort=True)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
