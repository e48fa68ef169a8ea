"""Turns one turn of bot messages into WeChat text.

WeChat has one passive reply per user message, plain text only, and its
``Content`` is limited to 2048 bytes of UTF-8. So a turn's messages are
flattened to text (buttons become numbered "回复 1：…" lines, numbered across
the whole turn so every number is unique), then packed greedily, in order,
into chunks of at most 2048 bytes: the first chunk is the passive reply and
the rest go out through the customer-service API.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional

CONTENT_LIMIT_BYTES = 2048
SEPARATOR = "\n\n"

WELCOME_TEXT = (
    "您好，欢迎关注！我是小安，POS转账助手。POS机刷卡或转账失败、显示失败却扣了钱、"
    "对方说没收到钱，都可以直接用文字告诉我，我帮您一步步排查。\n"
    "温馨提示：银行、银联和小安都不会向您索要密码、CVV或短信验证码。"
)
TEXT_ONLY_TEXT = (
    "抱歉，小安目前只能看懂文字消息。请用文字简单描述您遇到的问题，"
    "比如“POS机提示通讯失败”或“转账成功了但对方没收到”。"
)
BUSY_TEXT = "系统繁忙，请稍后再试。"


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
                lines.append(f"回复 {len(turn.choices)}：{title}")
            elif button.get("url"):
                lines.append(f"{title}：{button['url']}")
        if message.get("image"):
            lines.append(f"[图片] {message['image']}")
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
