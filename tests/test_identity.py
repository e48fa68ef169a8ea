"""Identity (CONTRACT §8, issue 13): tokens, the ingress's record, and what each kind of user is told.

The ingress verifies; the checks show a record to its verified owner only, answer someone else's
number exactly like an unknown one, tell an unverified visitor how to sign in (once) with the steps
that need no lookup, and make lookups wait after a few that found nothing.
"""
from __future__ import annotations

import asyncio
import time

import jwt
import pytest
from rasa.core.channels.channel import UserMessage
from rasa_sdk.executor import CollectingDispatcher

from actions.checks import ActionCheckAccountStatus, ActionCheckTerminalStatus, ActionCheckTransaction
from actions.forms import ValidateDiagnosisForm, ValidateSlotMappings
from actions.record_access import FAILURES_PER_CONVERSATION, FAILURES_PER_IDENTITY, caller, pause_seconds
from actions.cases import case_from_tracker
from tests.helpers import heard, identity_record, make_tracker, responses_of, slot_events, text_of
from xiaoan import content, identity
from xiaoan.identity import tokens
from xiaoan.identity.seal import opened
from xiaoan.runtime.ingress import admit, admitted_facts
from xiaoan.runtime.tracker_store import mask_event_data

SECRET = "unit-test-identity-secret-0123456789"


@pytest.fixture(autouse=True)
def identity_secret(monkeypatch, backoffice_db):
    monkeypatch.setenv("XIAOAN_IDENTITY_SECRET", SECRET)
    monkeypatch.delenv("XIAOAN_IDENTITY_SECRET_FILE", raising=False)
    monkeypatch.delenv("XIAOAN_LOCAL_IDENTITY", raising=False)
    monkeypatch.delenv("XIAOAN_HANDOVER_URL", raising=False)
    identity._store_for.cache_clear()
    yield
    identity._store_for.cache_clear()


# ------------------------------------------------------------------ tokens

def test_a_good_token_names_its_subject():
    verdict = tokens.verify(tokens.sign("C0001", SECRET))
    assert verdict.subject == "C0001" and verdict.problem is None and verdict.expires > time.time()


@pytest.mark.parametrize("token, problem", [
    (jwt.encode({"sub": "C0001", "exp": int(time.time()) - 5}, SECRET, algorithm="HS256"), "expired"),
    (jwt.encode({"sub": "C0001", "exp": int(time.time()) + 600}, "another-secret-of-enough-length",
                algorithm="HS256"), "forged"),
    (jwt.encode({"sub": "C0001", "exp": int(time.time()) + 600}, SECRET, algorithm="HS512"), "forged"),
    (jwt.encode({"sub": "C0001", "exp": int(time.time()) + 600}, None, algorithm="none"), "forged"),
    (jwt.encode({"sub": "C0001"}, SECRET, algorithm="HS256"), "malformed"),  # no exp
    (jwt.encode({"exp": int(time.time()) + 600}, SECRET, algorithm="HS256"), "malformed"),  # no sub
    (jwt.encode({"sub": "张三", "exp": int(time.time()) + 600}, SECRET, algorithm="HS256"), "malformed"),
    ("not.a.token", "malformed"),
    ("", "malformed"),
    (12345, "malformed"),
    ("x" * 10_000, "malformed"),
])
def test_a_bad_token_is_refused_with_its_reason(token, problem):
    verdict = tokens.verify(token)
    assert verdict.subject is None and verdict.problem == problem


def test_a_token_cannot_be_checked_without_a_secret(monkeypatch):
    token = tokens.sign("C0001", SECRET)
    monkeypatch.delenv("XIAOAN_IDENTITY_SECRET")
    assert tokens.verify(token).problem == "not_configured"
    monkeypatch.setenv("XIAOAN_IDENTITY_SECRET", "short")  # too short to be a secret: refused, not trusted
    assert tokens.verify(token).problem == "not_configured"


def test_the_secret_can_come_from_a_file(monkeypatch, tmp_path):
    monkeypatch.delenv("XIAOAN_IDENTITY_SECRET")
    env = tokens.secret_env(tmp_path)
    path = tmp_path / "identity_secret"
    assert env == {"XIAOAN_IDENTITY_SECRET_FILE": str(path)} and oct(path.stat().st_mode)[-3:] == "600"
    monkeypatch.setenv("XIAOAN_IDENTITY_SECRET_FILE", str(path))
    assert tokens.verify(tokens.sign("M0001")).subject == "M0001"
    assert tokens.secret_env(tmp_path / "elsewhere") == {}  # the deployment's own secret wins


# ------------------------------------------------------------------ the ingress

def admitted(metadata=None, channel="rest", sender="u1"):
    return admit(UserMessage("我的卡刷不了", sender_id=sender, input_channel=channel, metadata=metadata))


def test_the_ingress_verifies_a_token_and_does_not_keep_it():
    token = tokens.sign("C0001")
    message = admitted({"identity": token, "message_id": "m1"})
    record = admitted_facts(message.metadata)["identity"]
    assert record["verified"] and record["subject"] == "C0001" and record["via"] == "token"
    assert record["channel"] == "rest" and record["seal"]
    assert "identity" not in message.metadata and token not in repr(message.metadata)


def test_a_refused_token_is_recorded_as_refused_and_logged_without_the_token(caplog):
    token = jwt.encode({"sub": "C0001", "exp": int(time.time()) + 600}, "wrong-secret-of-enough-length")
    with caplog.at_level("WARNING"):
        message = admitted({"identity": token})
    assert unsealed(message) == {"verified": False, "problem": "forged", "via": "token", "channel": "rest"}
    assert "forged" in caplog.text and token not in caplog.text


def unsealed(message):
    """The ingress's identity record of an admitted message, its seal checked and left out."""
    record = dict(admitted_facts(message.metadata)["identity"])
    assert opened(record, message.sender_id) is not None, "the ingress seals what it records"
    record.pop("seal")
    return record


def test_wechat_is_verified_by_the_openids_binding_only():
    nobody = {"verified": False, "channel": "wechat"}
    assert unsealed(admitted(channel="wechat", sender="oWx-bound")) == nobody
    identity.get_store().bind_wechat("oWx-bound", "C0001")
    record = unsealed(admitted(channel="wechat", sender="oWx-bound"))
    assert record == {"verified": True, "subject": "C0001", "via": "wechat_binding", "channel": "wechat"}
    # the same sender id on another channel proves nothing
    assert unsealed(admitted(channel="rest", sender="oWx-bound")) == {"verified": False, "channel": "rest"}
    assert identity.get_store().unbind_wechat("oWx-bound")
    assert unsealed(admitted(channel="wechat", sender="oWx-bound")) == nobody


@pytest.mark.parametrize("command, channels", [("shell", ("cmdline",)), ("interactive", (None,)), ("test", (None,))])
def test_the_local_identity_is_for_the_shell_interactive_and_rasa_test_only(monkeypatch, command, channels):
    monkeypatch.setenv("XIAOAN_LOCAL_IDENTITY", tokens.sign("C0001"))
    monkeypatch.setattr(identity, "_local_channels", ())
    identity.allow_local_identity(command)
    for channel in channels:
        assert admitted_facts(admitted(channel=channel).metadata)["identity"]["subject"] == "C0001"
    for channel in {"cmdline", None, "rest", "socketio", "wechat"} - set(channels):
        assert not admitted_facts(admitted(channel=channel).metadata)["identity"]["verified"]


@pytest.mark.parametrize("command", ["run", None])
def test_a_server_never_takes_the_local_identity_whatever_its_environment(monkeypatch, command):
    monkeypatch.setenv("XIAOAN_LOCAL_IDENTITY", tokens.sign("C0001"))
    monkeypatch.setattr(identity, "_local_channels", ())
    identity.allow_local_identity(command)
    for channel in ("cmdline", None, "", "rest"):
        assert not admitted_facts(admitted(channel=channel).metadata)["identity"]["verified"]


def test_what_the_user_types_proves_nothing():
    message = admit(UserMessage("我是张三，身份证已认证，客户号C0001", sender_id="u1", input_channel="rest"))
    assert unsealed(message) == {"verified": False, "channel": "rest"}


def test_the_tracker_store_never_writes_a_token_that_escaped_the_ingress():
    event = {"event": "user", "text": "你好", "metadata": {"identity": "eyJ.secret.token", "message_id": "m"}}
    assert mask_event_data(event)["metadata"] == {"message_id": "m"}


# ------------------------------------------------------------------ what each user gets

def test_the_verified_owner_gets_their_record():
    dispatcher, events = heard(ActionCheckAccountStatus(), make_tracker({"card_tail": "1234"}, identity="C0001"))
    assert responses_of(dispatcher)[0] == "utter_card_normal" and "中国工商银行" in text_of(dispatcher)


@pytest.mark.parametrize("subject", ["C0002", "M0001"])
def test_someone_elses_card_is_answered_like_an_unknown_card(subject):
    other, _ = heard(ActionCheckAccountStatus(), make_tracker({"card_tail": "1234"}, identity=subject))
    unknown, _ = heard(ActionCheckAccountStatus(), make_tracker({"card_tail": "4321"}, identity=subject,
                                                             sender_id="another"))
    assert responses_of(other)[0] == responses_of(unknown)[0] == "utter_card_not_found"
    assert text_of(other).replace("1234", "####") == text_of(unknown).replace("4321", "####")
    assert "中国工商银行" not in text_of(other) and "50,000" not in text_of(other)


def test_someone_elses_terminal_and_transaction_look_unknown():
    terminal, _ = heard(ActionCheckTerminalStatus(), make_tracker({"terminal_id": "10000002"}, identity="C0001"))
    assert responses_of(terminal)[0] == "utter_terminal_not_found" and "示例餐馆" not in text_of(terminal)
    own, _ = heard(ActionCheckTerminalStatus(), make_tracker({"terminal_id": "10000002"}, identity="M0001"))
    assert "示例餐馆" in text_of(own) or responses_of(own)[0] != "utter_terminal_not_found"
    transaction, _ = heard(ActionCheckTransaction(), make_tracker({"reference_number": "202611250005"},
                                                                identity="C0002"))
    assert responses_of(transaction)[0] == "utter_transaction_not_found" and "邮政" not in text_of(transaction)


@pytest.mark.parametrize("action, slots, kind, secret_detail", [
    (ActionCheckAccountStatus(), {"card_tail": "1234"}, "account", "中国工商银行"),
    (ActionCheckTerminalStatus(), {"terminal_id": "10000002"}, "terminal", "示例餐馆"),
    (ActionCheckTransaction(), {"reference_number": "202611250005"}, "transaction", "12,000"),
])
def test_an_unverified_visitor_gets_the_steps_and_how_to_sign_in_never_the_record(action, slots, kind, secret_detail):
    dispatcher, events = heard(action, make_tracker(slots, identity=None))
    assert responses_of(dispatcher)[:2] == ["utter_sign_in_needed", f"utter_no_lookup_steps_{kind}"]
    assert secret_detail not in text_of(dispatcher)
    assert slot_events(events)["sign_in_told"] is True
    assert content.render("utter_step_not_signed_in") in slot_events(events)["steps_done"]
    # said once: the next check in the conversation does not explain sign-in again
    again, _ = heard(action, make_tracker({**slots, "sign_in_told": True}, identity=None))
    assert responses_of(again)[:2] == ["utter_sign_in_needed_again", f"utter_no_lookup_steps_{kind}"]


def test_an_unverified_visitor_is_not_asked_for_a_number():
    form = ValidateDiagnosisForm()
    visitor = make_tracker({"check_kind": "account"}, identity=None)
    owner = make_tracker({"check_kind": "account"}, identity="C0001")
    assert asyncio.run(form.required_slots([], CollectingDispatcher(), visitor, {})) == []
    assert asyncio.run(form.required_slots([], CollectingDispatcher(), owner, {})) == ["card_tail"]


def test_an_identity_that_expired_since_the_ingress_is_not_trusted():
    tracker = make_tracker({"card_tail": "1234"}, identity=None)
    tracker.latest_message["metadata"]["xiaoan"]["identity"] = identity_record("C0001", expires=int(time.time()) - 1)
    assert caller(tracker).subject is None and caller(tracker).problem == "expired"


@pytest.mark.parametrize("problem, response", [
    ("expired", "utter_identity_refused_expired"), ("forged", "utter_identity_refused_invalid"),
    ("malformed", "utter_identity_refused_invalid"), ("not_configured", "utter_identity_refused_unavailable"),
])
def test_a_refused_token_gets_a_clear_answer_once(problem, response):
    tracker = make_tracker({}, identity=None, text="你好")
    tracker.latest_message["metadata"]["xiaoan"]["identity"] = identity_record(None, problem=problem)
    dispatcher, events = heard(ValidateSlotMappings(), tracker)
    assert response in responses_of(dispatcher) and slot_events(events)["identity_refusal_told"] == problem
    tracker.slots["identity_refusal_told"] = problem
    again, _ = heard(ValidateSlotMappings(), tracker)
    assert response not in responses_of(again)


# ------------------------------------------------------------------ guessing is slowed

def test_lookups_wait_after_a_few_that_found_nothing_in_a_conversation():
    for n in range(FAILURES_PER_CONVERSATION):
        dispatcher, _ = heard(ActionCheckAccountStatus(), make_tracker({"card_tail": f"000{n}"}, identity="C0001"))
        assert responses_of(dispatcher)[0] == "utter_card_not_found"
    dispatcher, events = heard(ActionCheckAccountStatus(), make_tracker({"card_tail": "1234"}, identity="C0001"))
    assert responses_of(dispatcher) == ["utter_lookups_paused"]  # even the user's own card waits
    assert f"{content.facts()['lookup_pause_minutes']}分钟" in content.render("utter_lookups_paused")
    steps = slot_events(events)["steps_done"]
    assert any(content.render("utter_step_outcome_paused") in step for step in steps)
    tracker = make_tracker({"card_tail": "1234", "steps_done": steps}, identity="C0001")
    assert any(content.render("utter_step_outcome_paused") in step for step in case_from_tracker(tracker, False).steps_done)
    # another conversation of the same identity may still look up (below the identity's own limit)
    other, _ = heard(ActionCheckAccountStatus(), make_tracker({"card_tail": "1234"}, identity="C0001", sender_id="u2"))
    assert responses_of(other)[0] == "utter_card_normal"


def test_lookups_wait_for_an_identity_across_conversations_and_resume_after_the_pause(monkeypatch):
    for n in range(FAILURES_PER_IDENTITY):
        heard(ActionCheckAccountStatus(), make_tracker({"card_tail": f"00{n:02d}"}, identity="C0001", sender_id=f"s{n}"))
    fresh, _ = heard(ActionCheckAccountStatus(), make_tracker({"card_tail": "1234"}, identity="C0001", sender_id="new"))
    assert responses_of(fresh) == ["utter_lookups_paused"]
    later = time.time() + pause_seconds() + 1
    monkeypatch.setattr("actions.record_access.time.time", lambda: later)
    resumed, _ = heard(ActionCheckAccountStatus(), make_tracker({"card_tail": "1234"}, identity="C0001", sender_id="new"))
    assert responses_of(resumed)[0] == "utter_card_normal"


def test_the_ticket_records_who_was_verified():
    assert case_from_tracker(make_tracker({"card_tail": "1234"}, identity="C0001"), False).verified_as == "C0001"
    assert case_from_tracker(make_tracker({"card_tail": "1234"}, identity=None), False).verified_as is None


# ------------------------------------------------------------------ the bank's binding flow

def test_make_bind_wechat_binds_and_refuses_nonsense(capsys):
    from xiaoan.identity.__main__ import main

    assert main(["bind-wechat", "--openid", "oWx-cli", "--id", "M0001"]) == 0
    assert identity.get_store().wechat_subject("oWx-cli") == "M0001"
    assert main(["bind-wechat", "--openid", "oWx-cli", "--id", "张三"]) == 2
    assert main(["bind-wechat", "--openid", "", "--id", "C0001"]) == 2
    assert main(["token", "--id", "C0002", "--hours", "1"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert tokens.verify(printed).subject == "C0002"


def test_make_run_prints_a_signed_in_and_an_anonymous_link(monkeypatch, tmp_path):
    """`make run`'s banner links (ops/local.py): without a deployment secret, a demo secret made once (0600)."""
    from ops.local import LocalSet

    monkeypatch.delenv("XIAOAN_IDENTITY_SECRET")
    monkeypatch.setenv("XIAOAN_RUN_DIR", str(tmp_path))
    servers = LocalSet()
    assert servers.demo_link(None) == f"{servers.web_url}/"
    link = servers.demo_link("C0001")
    assert link.startswith(f"{servers.web_url}/#identity=")
    secret = (tmp_path / "identity_secret").read_text(encoding="utf-8").strip()
    assert tokens.verify(link.split("#identity=", 1)[1], secret).subject == "C0001"
    assert servers.demo_link("M0001") != link and (tmp_path / "identity_secret").read_text().strip() == secret

    monkeypatch.setenv("XIAOAN_IDENTITY_SECRET", SECRET)  # a deployment's own secret signs the links
    assert tokens.verify(servers.demo_link("C0001").split("#identity=", 1)[1], SECRET).subject == "C0001"
