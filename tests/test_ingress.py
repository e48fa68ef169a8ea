"""The one way in (`xiaoan.runtime.ingress`): what every channel's message becomes before Rasa reads it."""
from __future__ import annotations

from rasa.core.channels.channel import UserMessage

from xiaoan.runtime.ingress import INGRESS_KEY, admit, admitted_facts
from xiaoan.runtime.replay import replay_key

CARD = "6222021234567890123"


def test_secrets_are_masked_and_what_was_masked_is_recorded():
    message = admit(UserMessage(f"卡号{CARD} 密码是135790 验证码246810", sender_id="u"))
    assert CARD not in message.text and "135790" not in message.text and "246810" not in message.text
    assert message.text.startswith("卡号***************0123")
    facts = admitted_facts(message.metadata)
    assert facts["secrets_masked"] == ["card_number", "pin", "verification_code"]


def test_text_is_stored_as_typed_and_normalised_once_for_the_nlu():
    typed = "轉賬失敗，客服讓我把錢轉到安全賬戶，ＰＯＳ機 卡号６２２２０２１２３４５６７８９０１２３"
    message = admit(UserMessage(typed, sender_id="u"))
    assert message.text == "轉賬失敗，客服讓我把錢轉到安全賬戶，ＰＯＳ機 卡号***************０１２３"
    facts = admitted_facts(message.metadata)
    assert facts["text"] == "转账失败,客服让我把钱转到安全账户,pos机 卡号***************0123"
    assert facts["fraud_signals"] == ["safe_account"] and facts["secrets_masked"] == ["card_number"]


def test_the_client_message_id_is_carried_for_safe_retries():
    message = admit(UserMessage("你好", sender_id="u", metadata={"message_id": " m-7 "}))
    assert admitted_facts(message.metadata)["message_id"] == "m-7" and replay_key(message) == "m-7"
    assert replay_key(admit(UserMessage("你好", sender_id="u"))) is None


def test_admitting_twice_changes_nothing():
    message = admit(UserMessage(f"卡号{CARD}", sender_id="u"))
    before = (message.text, dict(message.metadata))
    assert admit(message) is message and (message.text, message.metadata) == before


def test_a_client_cannot_forge_the_ingress_record():
    """Clients write the metadata; a record they send is replaced, so masking cannot be skipped."""
    forged = {INGRESS_KEY: {"secrets_masked": [], "fraud_signals": [], "message_id": "x", "client": "k",
                            "identity": {"verified": True, "subject": "C0001", "via": "token"}}}
    message = admit(UserMessage(f"卡号{CARD}", sender_id="u", metadata=forged))
    assert CARD not in message.text
    facts = admitted_facts(message.metadata)
    seal = facts["identity"].pop("seal")
    assert facts == {"text": "卡号***************0123", "secrets_masked": ["card_number"],
                     "fraud_signals": [], "message_id": None, "identity": {"verified": False, "channel": None},
                     "client": None}
    assert seal and seal != forged[INGRESS_KEY].get("identity", {}).get("seal")


def test_payloads_are_masked_but_not_rewritten():
    message = admit(UserMessage('/inform{"error_code": "A0"}', sender_id="u"))
    assert message.text == '/inform{"error_code": "A0"}'


def test_empty_and_odd_text_is_admitted_without_error():
    for text in ("", None, "\x00\x1b[31m", "😀" * 3000):
        message = admit(UserMessage(text, sender_id="u"))
        assert admitted_facts(message.metadata) is not None
