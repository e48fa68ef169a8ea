"""The trust boundary (issue 19), tested the way it is attacked.

The server, never the client, decides the channel and who is writing; a conversation belongs to
whoever it was verified for. Each test plays one attack from the review against the real channel
code (a Sanic server on 127.0.0.1, tests/stand_ins/channel_server.py), the real processor's replay
and hand-over paths (XiaoanProcessor with Rasa's model parts stood in for) or the real actions:

* a REST body that names itself ``wechat`` with a bound OpenID as sender, or ``cmdline``;
* a stranger retrying the owner's message id on the owner's REST sender;
* events injected with a forged (or copied) identity record;
* a second socket asking for the owner's live socket.io session;
* a stranger writing to a known REST sender while staff messages wait there;
* a ticket summary asked for by someone other than the subject the case was looked up for.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List, Optional

import aiohttp
import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Tracker

from actions.checks import ActionCheckAccountStatus, ActionCheckTransaction
from actions.record_access import caller
from actions.tickets import ActionCreateTicket
from channels.rest import RestInput
from channels.socketio import SocketIOInput
from tests.clients import WebchatClient
from tests.helpers import heard, text_of
from tests.test_identity import SECRET, identity_secret  # noqa: F401 - its autouse fixture applies here too
from tests.stand_ins.channel_server import ChannelServer
from xiaoan import content, identity
from xiaoan.handover.store import get_store as handover_store
from xiaoan.identity import tokens
from xiaoan.runtime.ingress import admit, admitted_facts
from xiaoan.runtime.processor import XiaoanProcessor

ASK_CARD = "卡被冻结了转不了，卡号尾号1234"  # card 1234: C0001's, 中国工商银行
CARD_DETAILS = ("中国工商银行", "50,000")
SOCKET_SETTINGS = {"user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered",
                   "session_persistence": True, "metadata_key": "customData"}


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def tracker_for(message: UserMessage, slots: Dict[str, Any], events: Optional[List[Dict[str, Any]]] = None) -> Tracker:
    """The action server's view of a conversation whose latest message is `message`, as admitted."""
    latest = {"text": message.text, "intent": {"name": "inform", "confidence": 1.0}, "entities": [],
              "message_id": "m-latest", "metadata": message.metadata}
    history = list(events or []) + [{"event": "user", "text": message.text, "metadata": message.metadata,
                                     "input_channel": message.input_channel}]
    return Tracker(message.sender_id, slots, latest, history, False, None, {}, "action_listen")


def identity_of(message: UserMessage) -> Dict[str, Any]:
    return admitted_facts(message.metadata)["identity"]


async def post_rest(url: str, body: Dict[str, Any]) -> List[Dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/webhooks/rest/webhook", data=json.dumps(body)) as response:
            assert response.status == 200, await response.text()
            return await response.json()


async def rest_received(body: Dict[str, Any]) -> UserMessage:
    """What the REST channel handed Rasa for `body`, admitted by the ingress."""
    async with ChannelServer(RestInput()) as server:
        await post_rest(server.url, body)
    return admit(server.received[-1])


# ------------------------------------------------------------------ 1. the channel is the server's

def test_a_rest_body_naming_wechat_does_not_borrow_a_wechat_binding():
    identity.get_store().bind_wechat("oWx-victim", "C0001")
    message = _run(rest_received({"sender": "oWx-victim", "message": ASK_CARD, "input_channel": "wechat"}))
    assert message.input_channel == "rest"
    assert not identity_of(message)["verified"]
    dispatcher, _ = heard(ActionCheckAccountStatus(), tracker_for(message, {"card_tail": "1234"}))
    assert not any(detail in text_of(dispatcher) for detail in CARD_DETAILS), text_of(dispatcher)


def test_a_rest_body_naming_cmdline_does_not_get_the_shells_identity(monkeypatch):
    monkeypatch.setenv("XIAOAN_LOCAL_IDENTITY", tokens.sign("C0001"))
    message = _run(rest_received({"sender": "anyone", "message": ASK_CARD, "input_channel": "cmdline"}))
    assert message.input_channel == "rest"
    assert not identity_of(message)["verified"]
    dispatcher, _ = heard(ActionCheckAccountStatus(), tracker_for(message, {"card_tail": "1234"}))
    assert not any(detail in text_of(dispatcher) for detail in CARD_DETAILS), text_of(dispatcher)


def test_the_channel_label_of_the_metrics_takes_known_names_only():
    from xiaoan.runtime.metrics import channel_of

    for name in ("rest", "socketio", "wechat", "cmdline"):
        assert channel_of(UserMessage("x", input_channel=name)) == name
    assert channel_of(UserMessage("x")) == "api"
    for claimed in ("wechat2", "x" * 500, "${jndi:ldap://a}", "Rest"):
        assert channel_of(UserMessage("x", input_channel=claimed)) == "other"


# ------------------------------------------------------------------ 2. forged identity records

def test_an_injected_identity_record_counts_as_nobody():
    """What Rasa's HTTP API would store for `POST /conversations/{id}/tracker/events` with forged metadata."""
    forged = UserMessage(ASK_CARD, sender_id="victim-chat", input_channel="rest",
                         metadata={"xiaoan": {"identity": {"verified": True, "subject": "C0001", "via": "token"}}})
    tracker = tracker_for(forged, {"card_tail": "1234"})
    assert not caller(tracker).verified
    dispatcher, _ = heard(ActionCheckAccountStatus(), tracker)
    assert not any(detail in text_of(dispatcher) for detail in CARD_DETAILS), text_of(dispatcher)


def test_a_genuine_record_copied_into_another_conversation_counts_as_nobody():
    genuine = admit(UserMessage(ASK_CARD, sender_id="owner-chat", input_channel="rest",
                                metadata={"identity": tokens.sign("C0001")}))
    assert caller(tracker_for(genuine, {})).subject == "C0001"
    copied = UserMessage(ASK_CARD, sender_id="attacker-chat", input_channel="rest", metadata=dict(genuine.metadata))
    tracker = tracker_for(copied, {"card_tail": "1234"})
    assert not caller(tracker).verified
    dispatcher, _ = heard(ActionCheckAccountStatus(), tracker)
    assert not any(detail in text_of(dispatcher) for detail in CARD_DETAILS), text_of(dispatcher)


def test_a_tampered_record_counts_as_nobody():
    genuine = admit(UserMessage(ASK_CARD, sender_id="chat", input_channel="rest",
                                metadata={"identity": tokens.sign("C0002")}))
    metadata = json.loads(json.dumps(genuine.metadata))
    metadata["xiaoan"]["identity"]["subject"] = "C0001"
    tampered = UserMessage(ASK_CARD, sender_id="chat", input_channel="rest", metadata=metadata)
    assert not caller(tracker_for(tampered, {})).verified


# ------------------------------------------------------------------ the processor, Rasa's model parts stood in for

class Conversations:
    """XiaoanProcessor's replay and hand-over paths over in-memory trackers. Rasa's own handling is stood in
    for: the (admitted) message is stored as Rasa stores it and answered with `answers[text]`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answers: Dict[str, str]) -> None:
        self.trackers: Dict[str, DialogueStateTracker] = {}
        self.processed: List[UserMessage] = []
        conversations = self

        async def get_tracker(_: Any, conversation_id: str) -> DialogueStateTracker:
            return conversations.trackers.setdefault(conversation_id, DialogueStateTracker(conversation_id, []))

        async def handle_message(processor: Any, message: UserMessage) -> Any:
            tracker = await processor.get_tracker(message.sender_id)
            conversations.processed.append(message)
            tracker.update(ActionExecuted("action_listen"))
            tracker.update(UserUttered(message.text, metadata=message.metadata, input_channel=message.input_channel,
                                       message_id=message.message_id))
            answer = answers.get(message.text, f"收到：{message.text}")
            tracker.update(BotUttered(answer))
            await message.output_channel.send_text_message(message.sender_id, answer)
            return getattr(message.output_channel, "messages", None)

        monkeypatch.setattr(MessageProcessor, "get_tracker", get_tracker)
        monkeypatch.setattr(MessageProcessor, "handle_message", handle_message)
        self.processor = XiaoanProcessor.__new__(XiaoanProcessor)
        self.processor._loaded = {}

    async def say(self, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None,
                  channel: str = "rest") -> str:
        output = CollectingOutputChannel()
        await self.processor.handle_message(UserMessage(text, output, sender, input_channel=channel,
                                                        metadata=metadata))
        return "\n".join(m.get("text") or "" for m in output.messages)


OWNER_QUESTION = "参考号202611250005这笔钱到哪了"
OWNER_ANSWER = "交易202611250005：12,000.00元，已入账到收款方（中国邮政储蓄银行）"


def test_a_stranger_retrying_the_owners_message_id_gets_no_stored_details(monkeypatch):
    conversations = Conversations(monkeypatch, {OWNER_QUESTION: OWNER_ANSWER})
    owner_token = tokens.sign("C0001")
    first = _run(conversations.say("shared", OWNER_QUESTION, {"identity": owner_token, "message_id": "m2"}))
    assert "12,000" in first
    stranger = _run(conversations.say("shared", "那我的呢", {"message_id": "m2"}))
    assert "12,000" not in stranger and "邮政" not in stranger, stranger
    other_customer = _run(conversations.say("shared", "那我的呢", {"identity": tokens.sign("C0002"),
                                                                    "message_id": "m2"}))
    assert "12,000" not in other_customer, other_customer
    other_channel = _run(conversations.say("shared", "那我的呢", {"message_id": "m2"}, channel="socketio"))
    assert "12,000" not in other_channel, other_channel


def test_the_owners_own_retry_is_still_answered_from_the_stored_replies(monkeypatch):
    conversations = Conversations(monkeypatch, {OWNER_QUESTION: OWNER_ANSWER})
    owner = {"identity": tokens.sign("C0001"), "message_id": "m2"}
    assert _run(conversations.say("shared", OWNER_QUESTION, dict(owner))) == OWNER_ANSWER
    again = _run(conversations.say("shared", OWNER_QUESTION, {**owner, "identity": tokens.sign("C0001")}))
    assert again == OWNER_ANSWER and len(conversations.processed) == 1  # processed once
    anonymous = _run(conversations.say("anon", "一般多久到账", {"message_id": "w1"}))
    assert _run(conversations.say("anon", "一般多久到账", {"message_id": "w1"})) == anonymous
    assert len(conversations.processed) == 2


def test_a_strangers_message_with_the_owners_id_writes_no_second_record_under_that_id(monkeypatch):
    """Processed as a new message: it does not reuse the owner's id (a ticket written under the owner's key
    would hand back the owner's ticket)."""
    conversations = Conversations(monkeypatch, {OWNER_QUESTION: OWNER_ANSWER})
    _run(conversations.say("shared", OWNER_QUESTION, {"identity": tokens.sign("C0001"), "message_id": "m2"}))
    _run(conversations.say("shared", "帮我登记工单", {"message_id": "m2"}))
    stranger = conversations.processed[-1]
    assert stranger.message_id != "m2" and admitted_facts(stranger.metadata)["message_id"] != "m2"


# ------------------------------------------------------------------ 3. pending staff messages

class RestServer(ChannelServer):
    """The REST channel in front of XiaoanProcessor (Rasa's model parts stood in for)."""

    def __init__(self, conversations: Conversations) -> None:
        super().__init__(RestInput())
        self.conversations = conversations

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        await self.conversations.processor.handle_message(message)


def wait_for_staff(conversation_id: str, text: str) -> None:
    store = handover_store()
    row, _ = store.enqueue(conversation_id, "rest", "request_human", None, None)
    message_id = store.add_message(conversation_id, row.id, "1001", "staff", text, "rest")
    store.set_status(message_id, "pending", "next_reply")


def staff_texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [m.get("text") for m in messages if (m.get("custom") or {}).get("from") == "staff"]


def test_a_stranger_writing_to_a_known_rest_sender_gets_no_staff_messages(monkeypatch):
    conversations = Conversations(monkeypatch, {})

    async def scenario() -> None:
        async with RestServer(conversations) as server:
            owner = tokens.sign("C0001")
            await post_rest(server.url, {"sender": "r-owner", "message": "转人工", "metadata": {"identity": owner}})
            wait_for_staff("r-owner", "您尾号1234的卡已解冻")
            stranger = await post_rest(server.url, {"sender": "r-owner", "message": "在吗"})
            assert staff_texts(stranger) == [], stranger
            other = await post_rest(server.url, {"sender": "r-owner", "message": "在吗",
                                                 "metadata": {"identity": tokens.sign("C0002")}})
            assert staff_texts(other) == [], other
            back = await post_rest(server.url, {"sender": "r-owner", "message": "在吗",
                                                "metadata": {"identity": tokens.sign("C0001")}})
            assert staff_texts(back) == ["您尾号1234的卡已解冻"], back

    _run(scenario())


def test_an_anonymous_rest_conversation_still_gets_its_staff_messages(monkeypatch):
    conversations = Conversations(monkeypatch, {})

    async def scenario() -> None:
        async with RestServer(conversations) as server:
            await post_rest(server.url, {"sender": "r-anon", "message": "转人工"})
            wait_for_staff("r-anon", "您好，我是人工客服")
            reply = await post_rest(server.url, {"sender": "r-anon", "message": "在吗"})
            assert staff_texts(reply) == ["您好，我是人工客服"], reply

    _run(scenario())


# ------------------------------------------------------------------ 4. a socket keeps its own session

def test_a_second_socket_cannot_join_a_live_session():
    async def scenario() -> None:
        async with ChannelServer(SocketIOInput.from_credentials(SOCKET_SETTINGS)) as server:
            owner, intruder = WebchatClient(), WebchatClient()
            try:
                session = await owner.connect(server.url)
                given = await intruder.connect(server.url, session_id=session)
                assert given != session
                await owner.say(session, "我的卡尾号1234", {"language": "zh"})
                assert (await owner.next_reply(10))["text"] == "收到：我的卡尾号1234"
                with pytest.raises(asyncio.TimeoutError):
                    await intruder.next_reply(1.5)
                # writing under the owner's session id from the intruder's socket is not the owner's conversation
                await intruder.say(session, "我是本人", {"language": "zh"})
                with pytest.raises(asyncio.TimeoutError):
                    await owner.next_reply(1.5)
                assert [m.sender_id for m in server.received].count(session) == 1
            finally:
                await owner.close()
                await intruder.close()

    _run(scenario())


def test_a_reload_after_the_old_socket_left_resumes_the_session():
    from channels.staff import session_present

    async def scenario() -> None:
        channel = SocketIOInput.from_credentials(SOCKET_SETTINGS)
        async with ChannelServer(channel) as server:
            first, second = WebchatClient(), WebchatClient()
            try:
                session = await first.connect(server.url)
                await first.close()  # the page unloads: its socket hangs up
                for _ in range(100):
                    if not session_present(channel.sio, session, channel.namespace):
                        break
                    await asyncio.sleep(0.05)
                assert await second.connect(server.url, session_id=session) == session
                await second.say(session, "还在吗", {"language": "zh"})
                assert (await second.next_reply(10))["text"] == "收到：还在吗"
            finally:
                await second.close()

    _run(scenario())


# ------------------------------------------------------------------ 5. the case is read back to its subject only

def owner_history(sender: str) -> List[Dict[str, Any]]:
    """The owner's earlier turn: a verified message (as the ingress stored it) and a lookup's step."""
    owner = admit(UserMessage(ASK_CARD, sender_id=sender, input_channel="rest",
                              metadata={"identity": tokens.sign("C0001"), "message_id": "o1"}))
    return [{"event": "user", "text": owner.text, "metadata": owner.metadata, "input_channel": "rest"},
            {"event": "action", "name": "action_check_account_status"}]


LOOKED_UP = {"card_tail": "1234", "symptom": "卡被冻结", "bank": "中国工商银行",
             "steps_done": [content.render("utter_step_card_checked", card_tail="1234", outcome="已冻结")]}


@pytest.mark.parametrize("who", [None, "C0002"])
def test_a_ticket_summary_is_not_read_back_to_another_subject(who):
    metadata = {"identity": tokens.sign(who)} if who else {}
    stranger = admit(UserMessage("帮我登记工单", sender_id="shared-t", input_channel="rest", metadata=metadata))
    dispatcher, _ = heard(ActionCreateTicket(), tracker_for(stranger, dict(LOOKED_UP), owner_history("shared-t")))
    said = text_of(dispatcher)
    assert "已冻结" not in said and "中国工商银行" not in said and "1234" not in said, said


def test_the_owner_gets_the_ticket_summary():
    owner = admit(UserMessage("帮我登记工单", sender_id="own-t", input_channel="rest",
                              metadata={"identity": tokens.sign("C0001")}))
    dispatcher, _ = heard(ActionCreateTicket(), tracker_for(owner, dict(LOOKED_UP), owner_history("own-t")))
    said = text_of(dispatcher)
    assert "已冻结" in said and "1234" in said, said


def test_earlier_lookup_results_are_not_shown_to_a_stranger_on_a_new_check(monkeypatch):
    """A stranger's check in the owner's conversation looks nothing up and reads no earlier result back."""
    stranger = admit(UserMessage("再查一下", sender_id="shared-c", input_channel="rest"))
    dispatcher, _ = heard(ActionCheckTransaction(),
                          tracker_for(stranger, {"reference_number": "202611250005"}, owner_history("shared-c")))
    assert "12,000" not in text_of(dispatcher)


def test_a_conversation_whose_owner_record_no_longer_opens_is_read_back_to_nobody(monkeypatch, tmp_path):
    """After the ingress key is rotated (or with an injected "verified" record first), the case is nobody's to
    read, not everybody's."""
    from xiaoan.identity.seal import KEY_FILE_ENV, make_key_file

    history = owner_history("rotated-t")
    monkeypatch.setenv(KEY_FILE_ENV, str(make_key_file(tmp_path / "rotated_key")))
    for who in (None, "C0001", "C0002"):
        metadata = {"identity": tokens.sign(who)} if who else {}
        writer = admit(UserMessage("帮我登记工单", sender_id="rotated-t", input_channel="rest", metadata=metadata))
        dispatcher, _ = heard(ActionCreateTicket(), tracker_for(writer, dict(LOOKED_UP), history))
        assert "已冻结" not in text_of(dispatcher), (who, text_of(dispatcher))
