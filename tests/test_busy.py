"""`xiaoan.runtime.busy`: an action server that fails gets the user a busy answer, not silence."""
from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, BotUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from xiaoan.runtime import busy

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[1] / "domain.yml"))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends


def run_guarded(action):
    guarded = busy.GuardedAction(action)
    tracker = DialogueStateTracker("busy-test", DOMAIN.slots)
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    events = asyncio.run(guarded.run(CollectingOutputChannel(), nlg, tracker, DOMAIN))
    return guarded, events


def test_unreachable_action_server_gives_the_busy_response():
    endpoint = EndpointConfig(f"http://127.0.0.1:{closed_port()}/webhook")
    guarded, events = run_guarded(RemoteAction("action_check_terminal_status", endpoint))
    assert guarded.failed
    assert len(events) == 1 and isinstance(events[0], BotUttered)
    assert events[0].text == DOMAIN.responses[busy.BUSY_RESPONSE][0]["text"]
    assert "保存" in events[0].text and "再发一次" in events[0].text
    assert events[0].metadata.get("utter_action") == busy.BUSY_RESPONSE


class Rejecting(RemoteAction):
    async def run(self, *args, **kwargs):
        raise ActionExecutionRejection(self.name())


def test_a_failing_form_lets_go_of_its_question():
    from rasa.core.actions.forms import FormAction
    from rasa.shared.core.events import SlotSet

    endpoint = EndpointConfig(f"http://127.0.0.1:{closed_port()}/webhook")
    form = FormAction("diagnosis_form", endpoint)
    guarded = busy.GuardedAction(form)
    tracker = DialogueStateTracker("busy-form", DOMAIN.slots)
    tracker.update_with_events(
        [ActiveLoop("diagnosis_form"), SlotSet("requested_slot", "terminal_id")], DOMAIN
    )
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    events = asyncio.run(guarded.run(CollectingOutputChannel(), nlg, tracker, DOMAIN))
    assert guarded.failed
    assert isinstance(events[0], BotUttered) and SlotSet("requested_slot", None) in events


def test_a_forms_rejection_is_not_a_failure():
    with pytest.raises(ActionExecutionRejection):
        run_guarded(Rejecting("diagnosis_form", None))


def test_only_actions_on_the_action_server_are_guarded():
    from rasa.core.actions.action import ActionListen
    from rasa.core.actions.forms import FormAction

    assert busy.talks_to_action_server(RemoteAction("action_create_ticket", None))
    assert busy.talks_to_action_server(FormAction("diagnosis_form", None))
    assert not busy.talks_to_action_server(ActionListen())

