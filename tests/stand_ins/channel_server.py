"""One Rasa input channel served by a real Sanic server on 127.0.0.1, with a stand-in for Rasa's agent.

The stand-in answers every message with ``收到：<text>`` and one button, and
keeps the `UserMessage`s it received, so a test (or bench/evidence/) sees
exactly what the channel handed Rasa and what reached the client, without a
model.
"""
from __future__ import annotations

import socket
import uuid
from typing import Any, List, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.channel import register as register_channels
from sanic import Sanic

BUTTON = {"title": "通讯失败/连不上网", "payload": "/network_issue"}

Sanic.test_mode = True  # several apps in one process


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ChannelServer:
    """``async with ChannelServer(channel) as server``: the channel at ``server.url``."""

    def __init__(self, channel: InputChannel, cors_origins: Optional[List[str]] = None) -> None:
        self.received: List[UserMessage] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = Sanic(f"channel_server_{uuid.uuid4().hex}", configure_logging=False)
        self.app.ctx.agent = self
        if cors_origins is not None:  # what `rasa run --cors ...` installs
            from sanic_cors import CORS

            CORS(
                self.app,
                resources={r"/*": {"origins": cors_origins}},
                automatic_options=True,
                expose_headers="filename",
            )
        register_channels([channel], self.app, route="/webhooks/")
        self._server: Any = None

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        await message.output_channel.send_text_with_buttons(
            message.sender_id, f"收到：{message.text}", [BUTTON]
        )

    async def __aenter__(self) -> "ChannelServer":
        self._server = await self.app.create_server(
            host="127.0.0.1", port=self.port, return_asyncio_server=True, access_log=False
        )
        await self._server.startup()
        return self

    async def __aexit__(self, *_: Any) -> None:
        closing = self._server.close()
        if closing is not None:
            await closing
