"""`xiaoan.runtime.logs`: one JSON object per line, never a secret, never what the user typed."""
from __future__ import annotations

import io
import json
import logging

import rasa.utils.io
import rasa_sdk.utils

from tests.helpers import json_log_of
from xiaoan.runtime import logs

CARD, PIN = "6222021234567890123", "318274"


def formatted(record_logger: str, emit) -> dict:
    [line] = json_log_of(emit, record_logger).splitlines()
    return json.loads(line)


def test_an_event_is_one_line_with_its_fields():
    line = formatted("xiaoan.test.a", lambda lg: logs.log_event(
        lg, logging.INFO, "message.handled", conversation_id="c-1", duration_ms=12.5, intent=None))
    assert line["event"] == "message.handled" and line["conversation_id"] == "c-1" and line["duration_ms"] == 12.5
    assert line["level"] == "info" and line["logger"] == "xiaoan.test.a" and line["ts"].endswith("Z")
    assert "intent" not in line  # unset fields are left out


def test_secrets_in_any_line_are_masked_and_tracebacks_too():
    def emit(lg):
        try:
            raise ValueError(f"卡号{CARD} 密码{PIN}")
        except ValueError:
            lg.exception("failed for 卡号%s 密码%s", CARD, PIN)

    line = formatted("xiaoan.test.b", emit)
    text = json.dumps(line, ensure_ascii=False)
    assert CARD not in text and PIN not in text
    assert CARD[-4:] in line["message"] and line["error"] == "ValueError" and "Traceback" in line["traceback"]


def test_rasas_structured_events_keep_their_names_but_not_what_the_user_typed():
    rendered = json.dumps({"event": "rest.message.received.failure", "text": "我的钱没到账", "log_level": "error"})
    line = formatted("rasa.core.channels.rest", lambda lg: lg.error(rendered))
    assert line["event"] == "rest.message.received.failure"
    assert line["text"] == logs.OMITTED and "我的钱没到账" not in json.dumps(line, ensure_ascii=False)


def test_a_user_text_field_given_to_log_event_is_dropped_too():
    line = formatted("xiaoan.test.c", lambda lg: logs.log_event(lg, logging.INFO, "x", text="我的密码是123456"))
    assert line["text"] == logs.OMITTED


def test_install_makes_rasa_and_rasa_sdk_console_logging_json_only_when_asked(monkeypatch):
    for module in (rasa.utils.io, rasa_sdk.utils):
        monkeypatch.setattr(module, "configure_colored_logging", module.configure_colored_logging)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.delenv(logs.LOG_FORMAT_ENV, raising=False)
    logs.install()
    assert hasattr(rasa.utils.io.configure_colored_logging, "xiaoan_original")
    assert hasattr(rasa_sdk.utils.configure_colored_logging, "xiaoan_original")

    monkeypatch.setenv(logs.LOG_FORMAT_ENV, "json")
    rasa_sdk.utils.configure_colored_logging("INFO")
    assert [getattr(h, "xiaoan_json", False) for h in root.handlers] == [True]  # one handler: JSON, nothing coloured


def test_socketio_and_engineio_errors_reach_the_json_handler(monkeypatch):
    """python-engineio gives its logger a plain-text stderr handler at construction unless it has a level
    (seen in a scale-out log: "'Session is disconnected' …" as a bare line)."""
    import engineio

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    for name in ("socketio.server", "engineio.server"):
        library = logging.getLogger(name)
        monkeypatch.setattr(library, "handlers", [])
        monkeypatch.setattr(library, "level", logging.NOTSET)
        monkeypatch.setattr(library, "propagate", False)  # as Rasa's update_socketio_log_level leaves it
    logs.use_json_logging("INFO")
    engineio.AsyncServer(async_mode="asgi")
    assert logging.getLogger("engineio.server").handlers == []  # nothing but the root's JSON handler
    assert logging.getLogger("engineio.server").getEffectiveLevel() == logging.ERROR

    stream = io.StringIO()
    monkeypatch.setattr(root, "handlers", [logs.json_handler(stream)])
    logging.getLogger("engineio.server").error("'Session is disconnected' abc")
    line = json.loads(stream.getvalue())  # the JSON handler got it, not logging's bare last resort
    assert line["level"] == "error" and line["logger"] == "engineio.server"
