"""Turns one turn of bot messages into WeChat text.

WeChat has one passive reply per user message, plain text only, and its
``Content`` is limited to 2048 bytes of UTF-8. So a turn's messages are
flattened to text (buttons become numbered lines, ``utter_wechat_choice``,
numbered across the whole turn so every number is unique), then packed
greedily, in order, into chunks of at most 2048 bytes: the first chunk is the
passive reply and the rest go out through the customer-service API.

The channel's own texts are responses of domain.yml, read through
`xiaoan.content`: the welcome (``utter_wechat_welcome``), the request to type
(``utter_wechat_text_only``) and the one busy answer (``utter_system_busy``).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional

from xiaoan import content
from xiaoan.names import BUSY_RESPONSE

CONTENT_LIMIT_BYTES = 2048
SEPARATOR = "\n\n"

WELCOME_TEXT = content.render("utter_wechat_welcome")
TEXT_ONLY_TEXT = content.render("utter_wechat_text_only")
BUSY_TEXT = content.render(BUSY_RESPONSE)


@dataclass
class RenderedTurn:
    """A turn as plain texts, plus the payloads its numbered choices stand for."""

    texts: List[str] = field(default_factory=list)
    choices: List[str] = field(default_factory=list)


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def cdata_safe(text: str) -> str:
    """wechatpy writes Content inside CDATA unescaped; "]]>" would end it early."""
    return text.replace("]]>", "]] >")


def render_turn(messages: Iterable[Dict[str, Any]]) -> RenderedTurn:
    """Flattens CollectingOutputChannel messages into texts and numbered choices."""
    turn = RenderedTurn()
    for message in messages:
        lines: List[str] = []
        if message.get("text"):
            lines.append(str(message["text"]).strip())
        for button in message.get("buttons") or message.get("quick_replies") or []:
            title = str(button.get("title") or button.get("payload") or "").strip()
            payload = button.get("payload")
            if payload:
                turn.choices.append(str(payload))
                lines.append(content.render("utter_wechat_choice", number=len(turn.choices), title=title))
            elif button.get("url"):
                lines.append(f"{title}：{button['url']}")
        if message.get("image"):
            lines.append(content.render("utter_wechat_image", url=message["image"]))
        if message.get("attachment"):
            lines.append(str(message["attachment"]))
        custom = message.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("text"), str):
            lines.append(custom["text"].strip())
        text = cdata_safe("\n".join(line for line in lines if line))
        if text:
            turn.texts.append(text)
    return turn


def split_text(text: str, limit: int = CONTENT_LIMIT_BYTES) -> List[str]:
    """Cuts one text into pieces of at most ``limit`` bytes, at line ends when it can."""
    pieces: List[str] = []
    rest = text
    while utf8_len(rest) > limit:
        cut = 0
        size = 0
        for index, char in enumerate(rest):
            size += utf8_len(char)
            if size > limit:
                break
            cut = index + 1
        newline = rest.rfind("\n", 0, cut)
        if newline > cut // 2:
            cut = newline + 1
        pieces.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:]
    if rest:
        pieces.append(rest)
    return pieces


def pack_texts(texts: Iterable[str], limit: int = CONTENT_LIMIT_BYTES) -> List[str]:
    """Packs texts in order into as few chunks of at most ``limit`` bytes as it can."""
    chunks: List[str] = []
    current = ""
    for text in texts:
        for piece in split_text(text, limit):
            joined = f"{current}{SEPARATOR}{piece}" if current else piece
            if utf8_len(joined) <= limit:
                current = joined
            else:
                chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks


def choice_index(text: Optional[str]) -> Optional[int]:
    """A reply that is just a number ("1", "１", " 2 ") as a 0-based index."""
    if not text:
        return None
    digits = unicodedata.normalize("NFKC", text).strip()
    if not digits.isdigit() or not digits.isascii() or len(digits) > 3:
        return None
    number = int(digits)
    return number - 1 if number >= 1 else None
