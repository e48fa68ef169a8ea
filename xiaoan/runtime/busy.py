"""A clear "system busy" answer when the action server fails, instead of silence.

Rasa 3.6's `MessageProcessor._run_action` logs any exception from a custom
action, drops its events and goes on predicting: with the action server down
the user gets no answer, or whatever the policies guess next. Here an action
that talks to the action server (a custom action, or a form whose validation
and questions live there) is run through `GuardedAction`: when it fails, Rasa
itself says `utter_system_busy` and stops predicting for this turn. Nothing
else changes: the user's message, the slots already extracted and the active
form are in the tracker, so the same conversation carries on once the action
server is back.

`xiaoan.runtime.processor.XiaoanProcessor` runs every such action through it.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa.core.actions.action import (
    Action,
    ActionExecutionRejection,
    RemoteAction,
    create_bot_utterance,
)
from rasa.core.actions.loops import LoopAction
from rasa.core.channels.channel import OutputChannel
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.core.policies.policy import PolicyPrediction
from rasa.shared.core.domain import Domain
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.events import BotUttered, Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from xiaoan import content
from xiaoan.names import BUSY_RESPONSE, RESPONSE_KEY

logger = logging.getLogger(__name__)

BUSY_POLICY = "xiaoan.runtime.busy"  # recorded as the "policy" that chose the listen after it
# Used only if the NLG cannot render the response: the user must never get silence. The same
# words, read from domain.yml (xiaoan.content), so there is one busy answer, not two.
BUSY_FALLBACK_TEXT = content.render(BUSY_RESPONSE)


def talks_to_action_server(action: Action) -> bool:
    """Custom actions, and forms (their validation and questions are custom actions)."""
    return isinstance(action, (RemoteAction, LoopAction))


class GuardedAction(Action):
    """Runs an action; if it fails (not a form's rejection), its events are the busy message."""

    def __init__(self, inner: Action) -> None:
        self.inner = inner
        self.failed = False
        self.error: Optional[str] = None  # the failure's exception class, for the metrics

    def name(self) -> str:
        return self.inner.name()

    def event_for_successful_execution(self, prediction: PolicyPrediction) -> Any:
        return self.inner.event_for_successful_execution(prediction)

    async def run(
        self,
        output_channel: OutputChannel,
        nlg: NaturalLanguageGenerator,
        tracker: DialogueStateTracker,
        domain: Domain,
    ) -> List[Event]:
        try:
            return await self.inner.run(output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise  # a form's normal "slot not filled": policies handle it
        except Exception as error:  # noqa: BLE001 - any failure gets the same answer
            self.failed = True
            self.error = type(error).__name__
            logger.error(
                "action '%s' failed (%s: %s); answered with %s",
                self.name(), type(error).__name__, error, BUSY_RESPONSE,
            )
            events: List[Event] = [await busy_utterance(output_channel, nlg, tracker)]
            if isinstance(self.inner, LoopAction):
                # the form asks again (or finishes) on the next message instead of
                # rejecting it for not answering a question that was never settled
                events.append(SlotSet(REQUESTED_SLOT, None))
            return events


async def busy_utterance(
    output_channel: OutputChannel, nlg: NaturalLanguageGenerator, tracker: DialogueStateTracker
) -> BotUttered:
    """The busy response as an event; the processor sends it like any other utterance."""
    message: Optional[Dict[str, Any]] = None
    try:
        message = await nlg.generate(BUSY_RESPONSE, tracker, output_channel.name())
    except Exception:  # noqa: BLE001 - a broken NLG must not silence the answer either
        logger.exception("could not render %s", BUSY_RESPONSE)
    message = dict(message or {"text": BUSY_FALLBACK_TEXT})
    message[RESPONSE_KEY] = BUSY_RESPONSE
    return create_bot_utterance(message)
