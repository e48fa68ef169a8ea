"""`xiaoan.runtime.metrics`: what each recording does to the Prometheus series, and who may read them."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from prometheus_client import generate_latest

from actions.backoffice.delayed import DelayedBackOffice
from actions.backoffice.instrumented import instrumented
from actions.backoffice.interface import BackOffice
from actions.backoffice.simulated import SimulatedBackOffice
from xiaoan.runtime import metrics
from xiaoan.runtime.metrics import common


def value(metric, *labels) -> float:
    return (metric.labels(*labels) if labels else metric)._value.get()


def count(histogram, *labels) -> float:
    child = histogram.labels(*labels) if labels else histogram
    return sum(bucket.get() for bucket in child._buckets)


def message(channel="rest", sender="m-test"):
    return SimpleNamespace(sender_id=sender, input_channel=channel)


def test_a_handled_message_is_counted_timed_and_its_intent_recorded():
    before = (value(metrics.MESSAGES, "socketio"), count(metrics.REPLY_SECONDS, "socketio"),
              value(metrics.INTENTS, "ask_retry"))
    with metrics.handling(message("socketio")) as state:
        metrics.intent_recognised("ask_retry", ["ask_retry", "greet"])
    assert state.intent == "ask_retry"
    assert value(metrics.MESSAGES, "socketio") == before[0] + 1
    assert count(metrics.REPLY_SECONDS, "socketio") == before[1] + 1
    assert value(metrics.INTENTS, "ask_retry") == before[2] + 1


def test_a_failed_action_makes_the_message_a_busy_error_and_counts_by_action():
    busy, errors = value(metrics.MESSAGE_ERRORS, "wechat", "busy"), value(metrics.ACTION_ERRORS, "diagnosis_form", "X")
    with metrics.handling(message("wechat")):
        with metrics.action_call("diagnosis_form") as failed:
            failed("X")
    assert value(metrics.MESSAGE_ERRORS, "wechat", "busy") == busy + 1
    assert value(metrics.ACTION_ERRORS, "diagnosis_form", "X") == errors + 1
    assert count(metrics.ACTION_SECONDS, "diagnosis_form") >= 1


def test_an_exception_is_an_error_and_a_replay_is_counted_apart():
    errors, replays = value(metrics.MESSAGE_ERRORS, "rest", "exception"), value(metrics.REPLAYED, "rest")
    with pytest.raises(RuntimeError):
        with metrics.handling(message()):
            raise RuntimeError("boom")
    with metrics.handling(message()):
        metrics.replayed()
    assert value(metrics.MESSAGE_ERRORS, "rest", "exception") == errors + 1
    assert value(metrics.REPLAYED, "rest") == replays + 1


def test_intents_outside_the_domain_are_other_and_fallbacks_are_counted_by_channel():
    other, fallback = value(metrics.INTENTS, metrics.OTHER), value(metrics.NLU_FALLBACKS, "rest")
    metrics.intent_recognised("made_up_by_a_client_42", ["greet"], "rest")  # "/made_up..." typed by a user
    metrics.intent_recognised("nlu_fallback", ["greet"], "rest")
    assert value(metrics.INTENTS, metrics.OTHER) == other + 1
    assert value(metrics.NLU_FALLBACKS, "rest") == fallback + 1
    assert "made_up_by_a_client_42" not in generate_latest(metrics.RASA_REGISTRY).decode()


def test_switched_off_nothing_is_recorded(monkeypatch):
    monkeypatch.setattr(common, "_ENABLED", False)  # XIAOAN_METRICS=off, read when the process starts
    before = value(metrics.MESSAGES, "rest")
    with metrics.handling(message()):
        pass
    assert value(metrics.MESSAGES, "rest") == before


def test_back_office_calls_are_timed_and_failures_counted_through_a_wrapper(tmp_path):
    delayed = DelayedBackOffice(SimulatedBackOffice(f"sqlite:///{tmp_path}/bo.db"), 0.0)
    store = instrumented(delayed)
    assert isinstance(store, BackOffice)  # it answers the whole interface
    assert not isinstance(store, DelayedBackOffice) and store.uninstrumented is delayed  # and says what it wraps
    calls, failures = count(metrics.BACKOFFICE_SECONDS, "find_card"), value(metrics.BACKOFFICE_FAILURES, "find_card")
    assert store.find_card("1234") is not None
    store.inner.find_card = lambda tail: (_ for _ in ()).throw(ConnectionError("down"))
    with pytest.raises(ConnectionError):
        store.find_card("1234")
    assert count(metrics.BACKOFFICE_SECONDS, "find_card") == calls + 2
    assert value(metrics.BACKOFFICE_FAILURES, "find_card") == failures + 1


def test_a_back_office_call_past_its_time_limit_counts_as_a_timeout():
    from actions.backoffice import in_worker_thread

    before = value(metrics.BACKOFFICE_TIMEOUTS)
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(in_worker_thread(lambda: __import__("time").sleep(0.3), timeout=0.05))
    assert value(metrics.BACKOFFICE_TIMEOUTS) == before + 1


def request(ip="127.0.0.1", headers=None, args=None):
    return SimpleNamespace(ip=ip, headers={k.lower(): v for k, v in (headers or {}).items()}, args=args or {})


@pytest.mark.parametrize("caller, token, refused", [
    (request(), None, None),                                             # loopback, no token configured
    (request("::1"), None, None),
    (request("10.1.2.3"), None, 403),                                   # another machine, no token: never
    (request(headers={"X-Forwarded-For": "198.51.100.7"}), None, 403),  # through a proxy
    (request(), "s3cret", 401),                                         # a token configured: always needed
    (request(headers={"Authorization": "Bearer s3cret"}), "s3cret", None),
    (request("10.1.2.3", {"Authorization": "Bearer s3cret"}), "s3cret", None),
    (request(args={"token": "s3cret"}), "s3cret", None),
    (request(headers={"Authorization": "Bearer s3cre"}), "s3cret", 401),
])
def test_who_may_read_the_metrics(caller, token, refused):
    assert metrics.access_refused(caller, token) == refused
