"""`xiaoan.fast_events`: the name → class table answers exactly what Rasa's walk answers."""
from __future__ import annotations

import pytest
import rasa.shared.utils.common as common
from rasa.shared.core import events
from rasa.shared.core.events import Event

from xiaoan import fast_events


@pytest.fixture
def table(monkeypatch):
    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])  # restored after
    original = Event.resolve_by_type
    fast_events._TABLE.clear()
    fast_events.apply()
    yield original
    fast_events._TABLE.clear()


def test_every_event_type_resolves_to_rasas_class(table):
    names = {cls.type_name for cls in common.all_subclasses(Event)}
    assert {"user", "bot", "slot", "action", "active_loop", "session_started"} <= names
    for name in names:
        assert Event.resolve_by_type(name) is table(name)


def test_events_read_back_the_same(table):
    stored = [{"event": "user", "text": "转账失败", "parse_data": {"intent": {"name": "transfer_failed"}}},
              {"event": "slot", "name": "terminal_id", "value": "10000003"},
              {"event": "action", "name": "action_listen"}]
    read = events.deserialise_events(stored)
    assert [type(e).__name__ for e in read] == ["UserUttered", "SlotSet", "ActionExecuted"]


def test_unknown_names_and_defaults_behave_as_in_rasa(table):
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no-such-event", default=events.SlotSet) is events.SlotSet
    with pytest.raises(ValueError):
        Event.resolve_by_type("no-such-event")


def test_a_subclass_defined_later_is_found(table):
    Event.resolve_by_type("user")  # table built now

    class LateEvent(events.SlotSet):
        type_name = "xiaoan_late_event"

    assert Event.resolve_by_type("xiaoan_late_event") is LateEvent
