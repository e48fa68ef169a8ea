"""`xiaoan.runtime.action_replies`: the cached validator accepts and refuses exactly what jsonschema does."""
from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from xiaoan import fast_validation


@pytest.fixture
def cached(monkeypatch):
    monkeypatch.setattr(jsonschema, "validate", jsonschema.validate)  # restored after the test
    fast_validation._VALIDATORS.clear()
    fast_validation.apply()
    yield
    fast_validation._VALIDATORS.clear()


def test_action_replies_are_still_validated(cached):
    action = RemoteAction("action_check_terminal_status", None)
    action._validate_action_result({"events": [{"event": "slot", "name": "x", "value": 1}], "responses": []})
    action._validate_action_result({"events": [], "responses": []})
    assert len(fast_validation._VALIDATORS) == 1  # one schema, checked once
    with pytest.raises(Exception):
        action._validate_action_result({"events": "not a list", "responses": []})


def test_same_errors_as_jsonschema(cached):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    jsonschema.validate({"n": 1}, schema)
    for bad in ({"n": "one"}, {}, []):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    assert getattr(jsonschema.validate, "_xiaoan_cached", False)
