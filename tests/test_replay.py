"""`xiaoan.runtime.replay`: a retried message is found with its replies, an unknown one is not.

The key is the client's message id as the ingress recorded it (`XiaoanProcessor` admits a message
before it asks for its key), never what a client wrote into the metadata itself.
"""
from __future__ import annotations

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from xiaoan.runtime.ingress import admit
from xiaoan.runtime.replay import replay_key, stored_replies


def message(metadata):
    return UserMessage("你好", CollectingOutputChannel(), "u", metadata=metadata)


def test_replay_key_is_the_clients_message_id_only_when_usable():
    assert replay_key(admit(message({"message_id": "abc"}))) == "abc"
    assert replay_key(admit(message({"message_id": 7}))) == "7"
    assert replay_key(admit(message(None))) is None
    assert replay_key(admit(message({"message_id": ""}))) is None
    assert replay_key(admit(message({"message_id": True}))) is None
    assert replay_key(admit(message({"message_id": "x" * 500}))) is None


def test_only_the_ingress_record_counts_not_what_a_client_wrote():
    assert replay_key(message({"message_id": "abc"})) is None  # never admitted: no key
    forged = message({"xiaoan": {"message_id": "someone-elses-id"}})
    assert replay_key(admit(forged)) is None  # the client's own record is replaced on admission


def conversation() -> DialogueStateTracker:
    return DialogueStateTracker.from_events("u", [
        ActionExecuted("action_listen"),
        UserUttered("你好", message_id="m1"),
        ActionExecuted("utter_greet"),
        BotUttered("您好，我是小安"),
        ActionExecuted("action_listen"),
        UserUttered("一般多久到账", message_id="m2"),
        SlotSet("symptom", None),
        BotUttered("一般实时到账"),
        BotUttered("最迟T+1"),
        ActionExecuted("action_listen"),
        UserUttered("谢谢", message_id="m3"),
    ])


def test_stored_replies_are_those_between_the_message_and_the_next():
    tracker = conversation()
    assert [e.text for e in stored_replies(tracker, "m1")] == ["您好，我是小安"]
    assert [e.text for e in stored_replies(tracker, "m2")] == ["一般实时到账", "最迟T+1"]
    assert stored_replies(tracker, "m3") == []  # stored, no reply yet: nothing is re-run either
    assert stored_replies(tracker, "never-sent") is None
