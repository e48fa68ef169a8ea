"""The customer-service message API: answers that miss the passive reply.

An answer that is not ready within the reply timeout, or that does not fit in
one passive reply, is sent later with ``POST /cgi-bin/message/custom/send``.
That needs an access token from ``GET /cgi-bin/token``, which WeChat rate
limits, so it is cached until shortly before it expires. All HTTP is aiohttp,
so a delivery never blocks Rasa's event loop; failures are logged, never
raised, because nobody is waiting on a background delivery.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Dict, Iterable, Optional

import aiohttp

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weixin.qq.com"
TOKEN_MARGIN_SECONDS = 300  # refresh this long before WeChat says it expires
TOKEN_REJECTED = {40001, 40014, 42001}  # invalid, malformed, expired access_token


class DeliveryError(Exception):
    """The API refused a request (an ``errcode`` other than 0) or was unreachable."""

    def __init__(self, message: str, errcode: Optional[int] = None) -> None:
        super().__init__(message)
        self.errcode = errcode


class CustomerServiceClient:
    """Sends text to an OpenID through WeChat's customer-service API."""

    def __init__(
        self,
        app_id: Optional[str],
        app_secret: Optional[str],
        api_base: Optional[str] = None,
        timeout: float = 10.0,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._token: Optional[str] = None
        self._token_expires_at = 0.0
        self._token_lock: Optional[asyncio.Lock] = None

    @property
    def configured(self) -> bool:
        return bool(self.app_id and self.app_secret)

    async def send_texts(self, openid: str, contents: Iterable[str]) -> int:
        """Sends each text in order; returns how many WeChat accepted."""
        contents = [text for text in contents if text]
        if not contents:
            return 0
        if not self.configured:
            logger.warning(
                "wechat: %d message(s) for a user dropped: app_id/app_secret not set",
                len(contents),
            )
            return 0
        sent = 0
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            for content in contents:
                try:
                    await self._send_text(session, openid, content)
                    sent += 1
                except (DeliveryError, aiohttp.ClientError, asyncio.TimeoutError) as error:
                    logger.error("wechat: customer-service send failed: %s", error)
        return sent

    async def deliver(self, openid: str, content: str) -> int:
        """Sends one text and says what became of it: 0 sent, WeChat's errcode, or -1 (not configured or
        unreachable). For a message someone waits on (a staff reply), unlike `send_texts`."""
        if not self.configured:
            return -1
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            try:
                await self._send_text(session, openid, content)
                return 0
            except DeliveryError as error:
                logger.error("wechat: customer-service send failed: %s", error)
                return error.errcode if error.errcode is not None else -1
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                logger.error("wechat: customer-service send failed: %s", error)
                return -1

    async def _send_text(
        self, session: aiohttp.ClientSession, openid: str, content: str
    ) -> None:
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        for attempt in (1, 2):
            token = await self._access_token(session)
            result = await self._post_json(
                session, "/cgi-bin/message/custom/send", {"access_token": token}, body
            )
            errcode = int(result.get("errcode") or 0)
            if errcode == 0:
                return
            if errcode in TOKEN_REJECTED and attempt == 1:
                self._token = None  # revoked or expired early: fetch a new one once
                continue
            raise DeliveryError(f"errcode {errcode}: {result.get('errmsg')}", errcode)

    async def _access_token(self, session: aiohttp.ClientSession) -> str:
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:  # one fetch even when many sends start at once
            if self._token and time.monotonic() < self._token_expires_at:
                return self._token
            params = {
                "grant_type": "client_credential",
                "appid": self.app_id or "",
                "secret": self.app_secret or "",
            }
            async with session.get(f"{self.api_base}/cgi-bin/token", params=params) as resp:
                result = await resp.json(content_type=None)
            token = result.get("access_token")
            if not token:
                raise DeliveryError(
                    f"no access_token: errcode {result.get('errcode')}: {result.get('errmsg')}"
                )
            lifetime = int(result.get("expires_in") or 7200)
            self._token = str(token)
            self._token_expires_at = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 60)
            return self._token

    async def _post_json(
        self,
        session: aiohttp.ClientSession,
        path: str,
        params: Dict[str, str],
        body: Dict[str, Any],
    ) -> Dict[str, Any]:
        # UTF-8 text rather than \uXXXX escapes, as wechatpy's own client sends it
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        async with session.post(
            f"{self.api_base}{path}", params=params, data=data, headers=headers
        ) as resp:
            result = await resp.json(content_type=None)
        if not isinstance(result, dict):
            raise DeliveryError(f"unexpected answer from {path}")
        return result
