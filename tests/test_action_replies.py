"""`xiaoan.runtime.action_replies`: action-server replies checked exactly as Rasa checks them, at Rasa's one call site.

`install()` replaces `RemoteAction._validate_action_result` and nothing else:
it must accept and refuse exactly what Rasa's own method does, with Rasa's
message, and `jsonschema.validate` must stay jsonschema's for the rest of the
process. The last test runs a real `RemoteAction` against an action server
on 127.0.0.1, so a Rasa upgrade that stops validating replies in that method
fails here.
"""
from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from xiaoan.runtime import action_replies

VALID: List[Dict[str, Any]] = [
    {},
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "terminal_id", "value": "10000002"}], "responses": []},
    {"events": [{"event": "slot", "name": "x", "value": None}, {"event": "active_loop", "name": None}],
     "responses": [{"text": "好的", "buttons": [{"title": "是", "payload": "/affirm"}]}]},
    {"events": [{"event": "bot", "text": "hi"}, {"event": "followup", "name": "utter_greet"}],
     "responses": [{"response": "utter_greet"}]},
    {"events": [], "responses": [], "extra": "ignored by the schema"},
]
INVALID: List[Any] = [
    [],
    "not an object",
    {"events": "not a list", "responses": []},
    {"events": [], "responses": "not a list"},
    {"events": [], "responses": ["not an object"]},
    {"events": [{"no": "event key"}], "responses": []},
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": [{"event": "slot", "value": 1}], "responses": []},  # a slot event needs its name
    {"events": [{"event": "slot", "name": 7, "value": 1}], "responses": []},
]


def _outcome(method: Any, reply: Any) -> Any:
    """True, or (error class, message) as raised."""
    try:
        return method(RemoteAction("action_check_terminal_status", None), reply)
    except jsonschema.ValidationError as error:
        return type(error), error.message


@pytest.fixture
def rasas_own() -> Iterator[Any]:
    """Rasa's method, kept before installing; put back after the test whatever it did."""
    original = RemoteAction.__dict__["_validate_action_result"]
    yield original
    RemoteAction._validate_action_result = original  # type: ignore[method-assign]


def test_accepts_and_refuses_exactly_what_rasa_does(rasas_own) -> None:
    expected = {json.dumps(reply, sort_keys=True): _outcome(rasas_own, reply) for reply in VALID + INVALID}
    assert all(expected[json.dumps(r, sort_keys=True)] is True for r in VALID)
    assert not any(expected[json.dumps(r, sort_keys=True)] is True for r in INVALID)

    validate_before = jsonschema.validate
    action_replies.install()
    installed = RemoteAction.__dict__["_validate_action_result"]
    assert installed is not rasas_own
    for reply in VALID + INVALID:
        assert _outcome(installed, reply) == expected[json.dumps(reply, sort_keys=True)], reply
    # narrowed to the one call site: jsonschema itself is untouched
    assert jsonschema.validate is validate_before
    assert jsonschema.validate.__module__ == "jsonschema.validators"


class _ActionServer:
    """An action server on 127.0.0.1 that answers every call with `reply`."""

    def __init__(self) -> None:
        self.reply: Any = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.dumps(server.reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_rasas_action_call_validates_with_the_installed_check_and_not_jsonschema_validate(
    rasas_own, monkeypatch
) -> None:
    calls = []
    real_validate = jsonschema.validate
    monkeypatch.setattr(jsonschema, "validate", lambda *a, **k: calls.append(a) or real_validate(*a, **k))
    action_replies.install()
    server = _ActionServer()
    domain = Domain.empty()
    action = RemoteAction("action_check_terminal_status", EndpointConfig(server.url))

    def run() -> List[Any]:
        tracker = DialogueStateTracker("replies", domain.slots)
        nlg = TemplatedNaturalLanguageGenerator(domain.responses)
        return asyncio.run(action.run(CollectingOutputChannel(), nlg, tracker, domain))

    try:
        server.reply = {"events": [{"event": "slot", "name": "terminal_id", "value": "10000002"}],
                        "responses": [{"text": "终端离线"}]}
        events = run()
        assert SlotSet("terminal_id", "10000002") in events
        assert [e.text for e in events if getattr(e, "text", None)] == ["终端离线"]
        server.reply = {"events": "not a list", "responses": []}
        with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
            run()
    finally:
        server.close()
    assert calls == []  # the schema is not re-checked and no validator rebuilt per call
