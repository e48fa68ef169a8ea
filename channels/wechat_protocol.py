"""The WeChat Official Account wire protocol, kept apart from the dialogue.

Everything here runs before a message may reach Rasa: the signature and
freshness checks on the query string, reading a bounded body, refusing XML
with a DTD (so no entity is ever expanded or fetched), AES decryption in
safe mode, and rendering / sealing the passive reply. The protocol itself is
wechatpy's (``WeChatSigner``, ``WeChatCrypto``, ``parse_message``,
``create_reply``); this module decides which HTTP status a bad request gets,
so that no malformed or forged request can end in a 500, and compares every
signature in constant time (``hmac.compare_digest``: wechatpy's own checks
use ``!=``).
"""
from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.utils import WeChatSigner

MAX_BODY_BYTES = 64 * 1024
MAX_CLOCK_SKEW_SECONDS = 300
NOT_CONFIGURED = "WECHAT_TOKEN is not configured"


class RequestRejected(Exception):
    """A request that must be answered with an HTTP error and go no further."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class SignedQuery:
    """The query string WeChat signs every callback with."""

    signature: str
    timestamp: str
    nonce: str
    encrypt_type: str = "raw"
    msg_signature: Optional[str] = None
    echostr: Optional[str] = None

    @property
    def encrypted(self) -> bool:
        return self.encrypt_type == "aes"

    @property
    def replay_key(self) -> str:
        """The signed triple WeChat never sends twice (its retries are signed anew)."""
        signed = "\0".join((self.timestamp, self.nonce, self.signature))
        return hashlib.sha256(signed.encode("utf-8", "surrogatepass")).hexdigest()


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 over the sorted parts (token, timestamp, nonce[, Encrypt])."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def signature_matches(expected: str, given: Optional[str]) -> bool:
    """Constant time, and any string an attacker sends (not ASCII, huge) is just a mismatch."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "surrogatepass"))


def read_query(args: Mapping[str, Any]) -> SignedQuery:
    """Picks the signed parameters; a missing one is a forged request (403)."""

    def arg(name: str) -> Optional[str]:
        value = args.get(name)
        if isinstance(value, list):  # Sanic's RequestParameters.get gives the first
            value = value[0] if value else None
        return value or None

    signature, timestamp, nonce = arg("signature"), arg("timestamp"), arg("nonce")
    if not (signature and timestamp and nonce):
        raise RequestRejected(403, "missing signature")
    encrypt_type = (arg("encrypt_type") or "raw").lower()
    if encrypt_type not in ("raw", "aes"):
        raise RequestRejected(400, "unknown encrypt_type")
    return SignedQuery(
        signature=signature,
        timestamp=timestamp,
        nonce=nonce,
        encrypt_type=encrypt_type,
        msg_signature=arg("msg_signature"),
        echostr=arg("echostr"),
    )


def verify_query(
    token: Optional[str],
    query: SignedQuery,
    max_skew: int = MAX_CLOCK_SKEW_SECONDS,
    now: Optional[float] = None,
) -> None:
    """Signature first, then freshness: a replayed old callback is refused too.

    No token configured: 503 for everyone, signed or not (fail closed; the
    channel logs that WECHAT_TOKEN is missing).
    """
    if not token:
        raise RequestRejected(503, NOT_CONFIGURED)
    if not signature_matches(sign(token, query.timestamp, query.nonce), query.signature):
        raise RequestRejected(403, "invalid signature")
    timestamp = str(query.timestamp or "")
    if not (timestamp.isdigit() and len(timestamp) <= 12):  # seconds; 400 nines overflowed float
        raise RequestRejected(403, "invalid timestamp")
    sent_at = int(timestamp)
    current = time.time() if now is None else now
    if abs(current - sent_at) > max_skew:
        raise RequestRejected(403, "stale timestamp")


async def read_body_limited(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """Reads at most ``limit`` bytes of a streamed body; more is a 413.

    The declared Content-Length is refused up front; a chunked or lying body
    is counted as it arrives, so an oversized body is never held whole.
    Lowering Sanic's own per-request limit also makes Sanic drop the rest of
    the body and close the connection instead of draining it.
    """
    stream = request.stream
    if stream is not None and hasattr(stream, "request_max_size"):
        stream.request_max_size = min(stream.request_max_size, limit)
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise RequestRejected(413, "body too large")
        except ValueError:
            raise RequestRejected(400, "bad content-length")

    if request.body or stream is None or not hasattr(stream, "read"):
        body = request.body or b""  # a non-streaming route: Sanic read it already
        if len(body) > limit:
            raise RequestRejected(413, "body too large")
        return body

    chunks = []
    size = 0
    try:
        while True:
            chunk = await stream.read()
            if chunk is None:
                break
            size += len(chunk)
            if size > limit:
                raise RequestRejected(413, "body too large")
            chunks.append(chunk)
    except PayloadTooLarge:
        raise RequestRejected(413, "body too large")
    return b"".join(chunks)


def ensure_safe_xml(raw: Union[bytes, str]) -> Any:
    """Refuses anything but a plain ``<xml>`` document.

    WeChat never sends a DTD, so any DOCTYPE, entity declaration or external
    reference (XXE, "billion laughs") is refused before wechatpy's parser
    sees the text.
    """
    if not raw or not raw.strip():
        raise RequestRejected(400, "empty body")
    try:
        root = SafeElementTree.fromstring(
            raw, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except (DefusedXmlException, ParseError, ValueError):
        raise RequestRejected(400, "malformed or unsafe XML")
    if root.tag != "xml":
        raise RequestRejected(400, "not a WeChat message")
    return root


def _as_text(raw: Union[bytes, str]) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestRejected(400, "body is not UTF-8")


def require_sealed(query: SignedQuery, safe_mode: bool) -> None:
    """Safe mode (an AES key is set) reads only sealed messages: plaintext is refused, never parsed."""
    if safe_mode and not query.encrypted:
        raise RequestRejected(403, "safe mode: only encrypted messages are accepted")


def decrypt_body(crypto: Optional[WeChatCrypto], token: str, raw: bytes, query: SignedQuery) -> str:
    """Safe mode: checks ``msg_signature`` over the ``Encrypt`` element, then decrypts it.

    The check is ours, in constant time; wechatpy then decrypts, given the
    signature we computed (its own ``!=`` compares two values of ours).
    Nothing but ``Encrypt`` is read from the body: plaintext fields beside it
    (WeChat's compatibility mode) are ignored.
    """
    if crypto is None:  # msg_signature cannot be checked without the key
        raise RequestRejected(403, "safe mode not configured")
    if not query.msg_signature:
        raise RequestRejected(403, "missing msg_signature")
    encrypt = (ensure_safe_xml(raw).findtext("Encrypt") or "").strip()
    if not encrypt:
        raise RequestRejected(400, "no Encrypt element")
    expected = sign(token, query.timestamp, query.nonce, encrypt)
    if not signature_matches(expected, query.msg_signature):
        raise RequestRejected(403, "invalid msg_signature")
    try:
        return crypto.decrypt_message(_as_text(raw), expected, query.timestamp, query.nonce)
    except (InvalidSignatureException, InvalidAppIdException):
        raise RequestRejected(403, "invalid msg_signature")
    except RequestRejected:
        raise
    except Exception:  # two Encrypt elements, bad base64, bad padding, not UTF-8
        raise RequestRejected(400, "cannot decrypt")


def parse_body(raw: Union[bytes, str]) -> BaseMessage:
    """wechatpy's ``parse_message`` on XML that has passed ``ensure_safe_xml``."""
    ensure_safe_xml(raw)
    try:
        message = parse_message(_as_text(raw))
    except RequestRejected:
        raise
    except Exception:  # no MsgType, text instead of elements, ...
        raise RequestRejected(400, "not a WeChat message")
    if message is None or not message.source or not isinstance(message.source, str):
        raise RequestRejected(400, "no sender")
    return message


def render_text_reply(message: BaseMessage, content: str) -> str:
    """The passive text reply to ``message``, as WeChat's XML."""
    return create_reply(content, message=message, render=True)


def seal_reply(crypto: WeChatCrypto, reply_xml: str, query: SignedQuery) -> str:
    """Safe mode: the reply goes back encrypted and signed."""
    return crypto.encrypt_message(reply_xml, query.nonce)
