"""What Rasa 3.6.21's own socket.io channel does with the installed python-socketio: replies go nowhere.

    .venv/bin/python bench/evidence/socketio_stock_channel.py [--rounds 5]    # part of `make evidence`

Evidence about upstream, not a check of 小安: it prints figures and never
fails on them. From python-socketio 5.10 on, `AsyncServer.enter_room` is a
coroutine, and Rasa's `SocketIOInput` calls it without awaiting it, so with
`session_persistence: true` the page never joins its session room and every
`bot_uttered` is sent to an empty room. `channels.socketio.SocketIOInput`
awaits it; the product check is tests/test_socketio_rooms.py.

Each round serves one channel on a real Sanic server with a stand-in agent
(tests/stand_ins/channel_server.py), connects the way rasa-webchat does
(tests/clients.py: session_request, user_uttered), and waits 3 s for the
reply. Figures go to stdout and results/bench/evidence/socketio.json.
"""
from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import sys
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any, Dict

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import socketio  # noqa: E402
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput  # noqa: E402

from channels.socketio import SocketIOInput  # noqa: E402
from tests.clients import WebchatClient  # noqa: E402
from tests.stand_ins.channel_server import ChannelServer  # noqa: E402

SETTINGS = {
    "user_message_evt": "user_uttered",
    "bot_message_evt": "bot_uttered",
    "session_persistence": True,
    "metadata_key": "customData",
}
REPLY_TIMEOUT_S = 3.0
OUT = ROOT / "results" / "bench" / "evidence" / "socketio.json"
CHANNELS = {"Rasa's socketio channel": RasaSocketIOInput, "channels.socketio.SocketIOInput": SocketIOInput}


async def one_round(channel_class: Any) -> Dict[str, bool]:
    """Whether the agent got the message, and whether its reply reached the page."""
    async with ChannelServer(channel_class.from_credentials(SETTINGS)) as server:
        client = WebchatClient()
        try:
            session_id = await client.connect(server.url)
            await client.say(session_id, "刷卡没成功", {"language": "zh"})
            try:
                await client.next_reply(REPLY_TIMEOUT_S)
                delivered = True
            except asyncio.TimeoutError:
                delivered = False
        finally:
            await client.close()
        return {"received": bool(server.received), "delivered": delivered}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="coroutine 'AsyncServer.enter_room' was never awaited")
    figures: Dict[str, Any] = {
        "python-socketio": version("python-socketio"),
        "rasa": version("rasa"),
        "enter_room_is_coroutine": inspect.iscoroutinefunction(socketio.AsyncServer.enter_room),
        "rounds": args.rounds,
    }
    for name, channel_class in CHANNELS.items():
        rounds = [asyncio.run(asyncio.wait_for(one_round(channel_class), 60)) for _ in range(args.rounds)]
        figures[name] = {
            "messages_received_by_rasa": sum(r["received"] for r in rounds),
            "replies_reaching_the_page": sum(r["delivered"] for r in rounds),
        }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"rasa {figures['rasa']}, python-socketio {figures['python-socketio']} "
          f"(enter_room is {'a coroutine' if figures['enter_room_is_coroutine'] else 'synchronous'}), "
          f"session_persistence on, {args.rounds} conversations each, reply awaited {REPLY_TIMEOUT_S:.0f} s:")
    for name in CHANNELS:
        f = figures[name]
        print(f"  {name}: {f['messages_received_by_rasa']} of {args.rounds} messages reached Rasa, "
              f"{f['replies_reaching_the_page']} of {args.rounds} replies reached the page")
    print(f"(figures: {OUT.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
