"""A Rasa input channel for a WeChat Official Account (微信公众号).

``GET /webhooks/wechat/webhook`` answers WeChat's URL verification;
``POST /webhooks/wechat/webhook`` receives the user's messages as XML and
answers with one passive XML reply, in plain or AES "safe" mode. The sender
id is the user's OpenID, so a conversation continues across messages.

WeChat gives each callback 5 seconds and then retries the same ``MsgId`` up
to three times. Each ``MsgId`` runs the dialogue once (``MessageLedger``); if
the answer is not ready after ``reply_timeout`` seconds the callback gets
``success`` and the answer follows through the customer-service API, as does
whatever does not fit in the 2048-byte passive reply.

In ``credentials.yml`` (Rasa substitutes the environment variables)::

    channels.wechat.WeChatInput:
      token: ${WECHAT_TOKEN}
      app_id: ${WECHAT_APP_ID}
      encoding_aes_key: ${WECHAT_ENCODING_AES_KEY}
      app_secret: ${WECHAT_APP_SECRET}
      api_base: ${WECHAT_API_BASE}
      # optional: reply_timeout: 4.5

Who may post (issue 19): without a token every request gets 503 and the log
says WECHAT_TOKEN is not configured; a callback must carry the token's
signature (compared in constant time) and a timestamp within
``max_clock_skew`` (300 s); a signed query carries one request only (the
same query with another body is refused, 403; the very same request again
goes to the per-message dedupe and gets the first answer, nothing runs
twice), remembered for the whole window in this process or, with several
servers, in Redis
(``XIAOAN_WECHAT_REDIS_URL``); in safe mode only sealed messages are read.

Limits (issue 19, ``xiaoan/runtime/limits.py``): a text over ``XIAOAN_MAX_TEXT_CHARS`` or an OpenID
over its rate gets the reason as the reply and never reaches Rasa; counted once per ``MsgId``.

Protocol details live in ``wechat_protocol``, text layout in
``wechat_format``, per-message and per-callback state in ``wechat_state``
and the customer-service API in ``wechat_delivery``.
"""
from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.crypto import WeChatCrypto
from wechatpy.messages import BaseMessage

from channels.staff import wechat_waiting
from channels.wechat_delivery import DEFAULT_API_BASE, CustomerServiceClient
from channels.wechat_format import (
    BUSY_TEXT,
    CONTENT_LIMIT_BYTES,
    TEXT_ONLY_TEXT,
    WELCOME_TEXT,
    RenderedTurn,
    choice_index,
    pack_texts,
    render_turn,
)
from channels.wechat_protocol import (
    MAX_BODY_BYTES,
    MAX_CLOCK_SKEW_SECONDS,
    NOT_CONFIGURED,
    RequestRejected,
    SignedQuery,
    decrypt_body,
    parse_body,
    read_body_limited,
    read_query,
    render_text_reply,
    require_sealed,
    seal_reply,
    verify_query,
)
from channels.wechat_state import (
    ChoiceMemory,
    MessageLedger,
    NonceStoreUnavailable,
    SeenCallbacks,
    seen_callbacks,
)

import xiaoan.runtime.limits as limits

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

DEFAULT_REPLY_TIMEOUT = 4.5  # WeChat gives up after 5 s
DEFAULT_OVERFLOW_DELAY = 0.5  # lets the passive reply reach the user before API sends
AES_KEY_LENGTH = 43
SUCCESS = "success"  # "received, no passive reply": WeChat then does not retry
WELCOME_EVENTS = {"subscribe", "subscribe_scan"}


def _setting(value: Any) -> Optional[str]:
    """A credential, or None when empty or left as an unsubstituted ``${VAR}``."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or "${" in text:
        return None
    return text


def _seconds(credentials: Dict[Text, Any], key: str, default: float) -> float:
    """A duration setting; a wrong one stops start-up instead of misbehaving later."""
    text = _setting(credentials.get(key))
    if text is None:
        return default
    seconds = float(text)
    if seconds < 0 or (key == "reply_timeout" and seconds == 0):
        raise ValueError(f"wechat: {key} must be a positive number of seconds")
    return seconds


@dataclass(frozen=True)
class WeChatSettings:
    """The channel's credentials and limits, read once from credentials.yml."""

    token: Optional[str] = None
    app_id: Optional[str] = None
    encoding_aes_key: Optional[str] = None
    app_secret: Optional[str] = None
    api_base: str = DEFAULT_API_BASE
    reply_timeout: float = DEFAULT_REPLY_TIMEOUT
    overflow_delay: float = DEFAULT_OVERFLOW_DELAY
    max_body_bytes: int = MAX_BODY_BYTES
    max_clock_skew: int = MAX_CLOCK_SKEW_SECONDS

    @classmethod
    def from_credentials(cls, credentials: Dict[Text, Any]) -> "WeChatSettings":
        settings = cls(
            token=_setting(credentials.get("token")),
            app_id=_setting(credentials.get("app_id")),
            encoding_aes_key=_setting(credentials.get("encoding_aes_key")),
            app_secret=_setting(credentials.get("app_secret")),
            api_base=_setting(credentials.get("api_base")) or DEFAULT_API_BASE,
            reply_timeout=_seconds(credentials, "reply_timeout", DEFAULT_REPLY_TIMEOUT),
            overflow_delay=_seconds(credentials, "overflow_delay", DEFAULT_OVERFLOW_DELAY),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Misconfiguration is loud at start-up, not a mystery at the first message."""
        if not self.token:
            logger.error("wechat: %s: every request gets 503 until it is set", NOT_CONFIGURED)
        if self.encoding_aes_key is not None:
            if len(self.encoding_aes_key) != AES_KEY_LENGTH:
                raise ValueError("wechat: encoding_aes_key must be 43 characters")
            if not self.app_id:
                raise ValueError("wechat: safe mode (encoding_aes_key) needs app_id")
        if self.reply_timeout >= 5:
            logger.warning("wechat: reply_timeout %.1fs is past WeChat's 5 s", self.reply_timeout)

    @property
    def safe_mode(self) -> bool:
        return self.encoding_aes_key is not None


class WeChatOutput(CollectingOutputChannel):
    """Collects the bot's messages of one turn; named so domain ``channel: wechat`` works."""

    @classmethod
    def name(cls) -> Text:
        return "wechat"


@dataclass(frozen=True)
class Inbound:
    """What the user said, ready for Rasa: the typed text, or a choice's payload."""

    sender_id: str
    text: str
    message_id: str
    metadata: Dict[str, Any]


class WeChatInput(InputChannel):
    """WeChat Official Account messages in, one passive reply (plus API sends) out."""

    @classmethod
    def name(cls) -> Text:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls(WeChatSettings.from_credentials(credentials))

    def __init__(
        self,
        settings: WeChatSettings,
        delivery: Optional[CustomerServiceClient] = None,
        seen: Optional[SeenCallbacks] = None,
    ) -> None:
        self.settings = settings
        self.crypto = (
            WeChatCrypto(settings.token, settings.encoding_aes_key, settings.app_id)
            if settings.safe_mode and settings.token
            else None
        )
        self.delivery = delivery or CustomerServiceClient(
            settings.app_id, settings.app_secret, settings.api_base
        )
        # a MsgId older than the accepted clock skew cannot come back signed
        self.ledger = MessageLedger(ttl=2.0 * settings.max_clock_skew)
        # a timestamp is fresh for max_skew either side of now: remembered that long, it cannot come back
        self.seen = seen or seen_callbacks(ttl=2.0 * settings.max_clock_skew)
        logger.info("wechat: signed callbacks are remembered in %s", getattr(self.seen, "where", "a store"))
        self.choices = ChoiceMemory()
        self._background: Set["asyncio.Task[Any]"] = set()

    # -- routes -------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """GET verifies the URL, POST carries messages; both under /webhooks/wechat."""
        module = inspect.getmodule(self)
        bp = Blueprint("wechat_webhook", module.__name__ if module else None)

        @bp.route("/", methods=["GET"], name="wechat_health")
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["GET"], name="wechat_verify")
        async def verify(request: Request) -> HTTPResponse:
            try:
                query = self._authentic_query(request)
                await self._first_use(query)
            except RequestRejected as rejected:
                return self._refusal(rejected)
            return response.text(query.echostr or "")

        @bp.route("/webhook", methods=["POST"], stream=True, name="wechat_receive")
        async def receive(request: Request) -> HTTPResponse:
            try:
                query = self._authentic_query(request)
                raw = await read_body_limited(request, self.settings.max_body_bytes)
                message = self._parse(raw, query)
                await self._first_use(query, raw)  # after every check: only an authentic callback is remembered
            except RequestRejected as rejected:
                return self._refusal(rejected)
            try:
                content = await self._reply_for(message, on_new_message)
            except Exception:  # whatever went wrong, WeChat gets an answer, not a 500
                logger.exception("wechat: handling a message failed")
                content = BUSY_TEXT
            try:
                return self._passive_reply(message, query, content)
            except Exception:
                logger.exception("wechat: rendering the reply failed")
                return response.text(SUCCESS)

        return bp

    # -- who may post -------------------------------------------------------

    def _authentic_query(self, request: Request) -> SignedQuery:
        """Configured, signed with the token, fresh: else a RequestRejected."""
        if not self.settings.token:  # before reading anything: nobody is trusted
            raise RequestRejected(503, NOT_CONFIGURED)
        query = read_query(request.args)
        verify_query(self.settings.token, query, self.settings.max_clock_skew)
        return query

    async def _first_use(self, query: SignedQuery, body: bytes = b"") -> None:
        """A signed query may carry one request only: the same query with another body is a forgery (403).

        The very same request again (query and body) is let through to the per-message dedupe (``MsgId``):
        it runs nothing twice and answers with the first answer, so a retry of a request whose answer was
        lost (WeChat hung up after 5 s, nginx re-sent it to the other server) still reaches the user. A
        replayer learns nothing new: in safe mode the answer is sealed with a key they lack, in plain mode
        it is the answer the captured request already carried.
        """
        exact = f"{query.replay_key}:{hashlib.sha256(body).hexdigest()}"
        try:
            new_request = await self.seen.first_use(exact)
            new_query = await self.seen.first_use(query.replay_key)
        except NonceStoreUnavailable as down:
            logger.error("wechat: cannot tell a replay from a new callback (%s): refused", down)
            raise RequestRejected(503, "replay check unavailable")
        if not new_query and new_request:
            raise RequestRejected(403, "replayed callback")

    @staticmethod
    def _refusal(rejected: RequestRejected) -> HTTPResponse:
        if rejected.reason == NOT_CONFIGURED:
            logger.error("wechat: request refused (503): %s", NOT_CONFIGURED)
        else:
            logger.info("wechat: request refused (%s): %s", rejected.status, rejected.reason)
        return response.text(rejected.reason, status=rejected.status)

    # -- request → message --------------------------------------------------

    def _parse(self, raw: bytes, query: SignedQuery) -> BaseMessage:
        require_sealed(query, self.settings.safe_mode)
        if query.encrypted:
            return parse_body(decrypt_body(self.crypto, self.settings.token or "", raw, query))
        return parse_body(raw)

    def _passive_reply(
        self, message: BaseMessage, query: SignedQuery, content: Optional[str]
    ) -> HTTPResponse:
        if not content:
            return response.text(SUCCESS)
        reply = render_text_reply(message, content)
        if query.encrypted and self.crypto is not None:
            reply = seal_reply(self.crypto, reply, query)
        return response.text(reply, content_type="application/xml; charset=utf-8")

    def _extract_sender(self, message: BaseMessage) -> str:
        """The OpenID: one user, one Rasa conversation."""
        return str(message.source)

    def _extract_message(self, message: BaseMessage) -> Optional[str]:
        """The user's words: a text message, or a voice message's recognition."""
        if message.type == "text":
            return message.content or ""
        if message.type == "voice" and message.recognition:
            return message.recognition
        return None

    def _message_key(self, message: BaseMessage) -> str:
        """``MsgId``; events have none, WeChat suggests sender plus ``CreateTime``."""
        msg_id = message.id or f"{message.type}:{message.time}"
        return f"{self._extract_sender(message)}:{msg_id}"

    def _inbound(self, message: BaseMessage, words: str) -> Inbound:
        """Maps a numbered choice back to its payload; typed text goes on as typed (the ingress masks it)."""
        sender = self._extract_sender(message)
        key = self._message_key(message)
        # message_id: a retry that reaches another Rasa server is replayed, not re-run (xiaoan.runtime.replay)
        metadata: Dict[str, Any] = {"wechat_msg_type": message.type, "message_id": key}
        payload = self.choices.payload_for(sender, choice_index(words))
        if payload is not None:
            text = payload
            metadata["wechat_choice"] = words.strip()
        else:
            text = words
        return Inbound(sender, text, key, metadata)

    # -- message → reply ----------------------------------------------------

    async def _reply_for(
        self, message: BaseMessage, on_new_message: OnNewMessage
    ) -> Optional[str]:
        """The passive reply text, or None for ``success``."""
        if _is_event(message):
            return WELCOME_TEXT if message.event in WELCOME_EVENTS else None
        words = self._extract_message(message)
        if words is None or not words.strip():
            return TEXT_ONLY_TEXT
        entry, first = self.ledger.claim(self._message_key(message))
        if first:
            inbound = self._inbound(message, words)
            self._spawn(self._decide(inbound, entry.decision, on_new_message))
        # shield: a dropped connection must not cancel the decision retries wait on
        return await asyncio.shield(entry.decision)

    async def _decide(
        self,
        inbound: Inbound,
        decision: "asyncio.Future[Optional[str]]",
        on_new_message: OnNewMessage,
    ) -> None:
        """Runs the dialogue once; answers passively in time, else through the API."""
        try:
            dialogue = asyncio.ensure_future(self._run_dialogue(inbound, on_new_message))
            try:
                texts = await asyncio.wait_for(
                    asyncio.shield(dialogue), timeout=self.settings.reply_timeout
                )
            except asyncio.TimeoutError:
                decision.set_result(None)  # "success" now, the answer follows
                texts = await dialogue
                await self.delivery.send_texts(inbound.sender_id, pack_texts(texts))
                return
            chunks = pack_texts(texts, CONTENT_LIMIT_BYTES)
            decision.set_result(chunks[0] if chunks else None)
            if len(chunks) > 1:
                await asyncio.sleep(self.settings.overflow_delay)
                await self.delivery.send_texts(inbound.sender_id, chunks[1:])
        except Exception:  # the last guard: a waiting callback still gets an answer
            logger.exception("wechat: answering a message failed")
        finally:
            if not decision.done():
                decision.set_result(BUSY_TEXT)

    async def _run_dialogue(self, inbound: Inbound, on_new_message: OnNewMessage) -> List[str]:
        """One Rasa turn; the bot's messages as texts, its buttons remembered."""
        collector = WeChatOutput()
        staff: List[str] = []
        try:
            message = UserMessage(
                inbound.text,
                collector,
                inbound.sender_id,
                input_channel=self.name(),
                message_id=inbound.message_id,
                metadata=inbound.metadata,
            )
            # once per MsgId (the ledger), so WeChat's retries are not counted; no address: every
            # callback comes from WeChat's servers, the OpenID is the one to count
            refusal = await limits.gate(message)
            if refusal is not None:
                return [refusal.text]
            # what staff wrote while the 48-hour window was closed (or pending): this message opened it
            # again, so it goes first, in the order written, once (channels/staff.py)
            staff = await wechat_waiting(inbound.sender_id)
            await on_new_message(message)
            turn = render_turn(collector.messages)
        except Exception:  # includes Rasa errors; CancelledError still propagates
            logger.exception("wechat: Rasa failed to handle a message")
            turn = RenderedTurn(texts=[BUSY_TEXT])
        self.choices.remember(inbound.sender_id, turn.choices)
        return [*staff, *turn.texts]

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        """Keeps a strong reference: asyncio only holds background tasks weakly."""
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _is_event(message: BaseMessage) -> bool:
    """Events wechatpy has no class for still carry ``MsgType`` event."""
    raw_type = str(getattr(message, "_data", {}).get("MsgType") or "").lower()
    return message.type == "event" or raw_type == "event"
