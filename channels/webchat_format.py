"""A bot message as the chat page's widget shows it: Markdown that keeps every line as written.

rasa-webchat renders each bubble's text as Markdown, where a single line break
is no break at all: an answer written as "the answer, then one step per line"
arrived as one run-on paragraph. Here every line ends in a hard break, and the
characters Markdown would read as formatting (the stars of a masked card
number, a step's "1." read as a list, brackets, underscores) are escaped, so
the page shows exactly the lines WeChat and the console show. Rasa's socket.io
output already makes a blank line ("\\n\\n") the start of a new bubble.
"""
from __future__ import annotations

import re
from typing import Any, Text

from rasa.core.channels.socketio import SocketIOOutput

# CommonMark's backslash-escapable punctuation that can change how a line renders.
_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]<>|~!])")
# Line starts Markdown reads as a heading, a quote, a list item or a rule.
_LINE_START = re.compile(r"^(\s*)(#|>|[-+]|\d+[.)])")
HARD_BREAK = "  \n"


def as_markdown_line(line: str) -> str:
    """One line of plain text as Markdown that renders as that text."""
    escaped = _INLINE_SPECIALS.sub(r"\\\1", line.rstrip())
    match = _LINE_START.match(escaped)
    if match:
        marker = match.group(2)
        escaped = match.group(1) + marker[:-1] + "\\" + marker[-1] + escaped[match.end():]
    return escaped


def as_markdown(text: str) -> str:
    """A bubble's plain text as Markdown: each line escaped, lines joined by hard breaks."""
    return HARD_BREAK.join(as_markdown_line(line) for line in text.strip().split("\n"))


class WebChatOutput(SocketIOOutput):
    """Rasa's socket.io output whose texts (plain, or above buttons) reach the widget as line-keeping Markdown."""

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        if isinstance(response, dict) and isinstance(response.get("text"), str):
            response = {**response, "text": as_markdown(response["text"])}
        await super()._send_message(socket_id, response)
