"""channels/staff.py's delivery decisions: WeChat's 48-hour window and its 45015, a socket.io room with
nobody in it. The whole route runs against real servers in tests/live/test_handover.py."""
from __future__ import annotations

import asyncio
import time

from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels.socketio import SocketIOInput
from channels.staff import WECHAT_WINDOW_S, emit_to_session, send_on_wechat
from xiaoan import content


class FakeWeChatApi:
    def __init__(self, errcode: int) -> None:
        self.errcode = errcode
        self.sent: list = []

    async def deliver(self, openid: str, text: str) -> int:
        self.sent.append((openid, text))
        return self.errcode


class FakeWeChatChannel:
    def __init__(self, errcode: int = 0) -> None:
        self.delivery = FakeWeChatApi(errcode)


def wechat_tracker(seconds_ago: float) -> DialogueStateTracker:
    tracker = DialogueStateTracker("o-user", [])
    tracker.update(UserUttered("转人工", input_channel="wechat", timestamp=time.time() - seconds_ago))
    return tracker


STAFF = {"id": "staff-1", "text": "您好", "from": "staff", "staff_id": "1001"}


def test_inside_the_window_the_api_sends_it_marked_as_from_staff():
    channel = FakeWeChatChannel()
    assert asyncio.run(send_on_wechat(channel, wechat_tracker(60), STAFF)) == ("delivered", "wechat_api")
    assert channel.delivery.sent == [("o-user", content.render("utter_staff_message", staff_id="1001", text="您好"))]


def test_outside_48_hours_nothing_is_sent_and_the_console_is_told():
    channel = FakeWeChatChannel()
    outcome = asyncio.run(send_on_wechat(channel, wechat_tracker(WECHAT_WINDOW_S + 60), STAFF))
    assert outcome == ("window_closed", "wechat_48h") and channel.delivery.sent == []


def test_wechat_refusing_for_its_window_is_window_closed_other_errors_not_delivered():
    assert asyncio.run(send_on_wechat(FakeWeChatChannel(45015), wechat_tracker(60), STAFF))[0] == "window_closed"
    assert asyncio.run(send_on_wechat(FakeWeChatChannel(-1), wechat_tracker(60), STAFF))[0] == "not_delivered"


def test_an_empty_room_keeps_the_message_pending():
    channel = SocketIOInput(session_persistence=True)
    channel.blueprint(lambda message: None)  # builds its AsyncServer
    assert asyncio.run(emit_to_session(channel, "nobody-here", STAFF)) == ("pending", "next_connect")


def test_a_held_conversation_never_starts_a_new_session():
    """XiaoanProcessor._has_session_expired: an hour-old paused conversation stays paused (no reset)."""
    from types import SimpleNamespace

    from rasa.shared.core.domain import SessionConfig
    from rasa.shared.core.events import ConversationPaused, ConversationResumed

    from xiaoan.runtime.processor import XiaoanProcessor

    processor = XiaoanProcessor.__new__(XiaoanProcessor)  # only the domain's session settings are read
    processor.domain = SimpleNamespace(session_config=SessionConfig(60, True))
    tracker = wechat_tracker(2 * 3600)
    assert processor._has_session_expired(tracker)  # Rasa's own rule: expired
    tracker.update(ConversationPaused())
    assert not processor._has_session_expired(tracker)
    tracker.update(ConversationResumed())
    assert processor._has_session_expired(tracker)


def test_the_staff_route_needs_the_api_token_whoever_calls():
    """Attack: behind make scale's nginx every caller is 127.0.0.1, so an address proves nothing; without a
    token configured the route refuses everyone, and with one it needs it as a bearer token."""
    from types import SimpleNamespace

    from channels.staff import authorised

    def request(ip: str, authorization: str = "") -> SimpleNamespace:
        return SimpleNamespace(ip=ip, headers={"authorization": authorization} if authorization else {})

    assert not authorised(request("127.0.0.1"), None)
    assert not authorised(request("127.0.0.1"), "s3cret")
    assert not authorised(request("127.0.0.1", "Bearer guess"), "s3cret")
    assert authorised(request("203.0.113.9", "Bearer s3cret"), "s3cret")
