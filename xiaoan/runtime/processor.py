"""小安's message processor: Rasa's, with three guarantees added.

* Every user message is admitted by the ingress (`xiaoan.runtime.ingress`)
  before anything parses, logs or stores it: normalised, secrets masked,
  fraud signals and the client's message id recorded. `log_message` and
  `parse_message` are the two doors every channel, `rasa shell`,
  `rasa interactive`, `rasa test` and the HTTP API go through.
* An action on the action server that fails gets the user the "system busy"
  answer instead of silence (`xiaoan.runtime.busy`).
* A message sent again with the same id is answered from the stored replies,
  not processed twice (`xiaoan.runtime.replay`).
* While a person holds the conversation (paused, xiaoan/handover) the message is
  stored and nothing else runs: no slot extraction, no notice, no prediction,
  and no new session however long the person takes.

Each message is also counted, timed and logged as one JSON event, with its
intent and the actions that failed (`xiaoan.runtime.metrics`).

Rasa offers no hook for any of them, so `xiaoan.runtime.install()` makes the
`Agent` build this class (checked against rasa==3.6.21).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa.core.actions.action import Action, ActionListen
from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.trackers import DialogueStateTracker

import xiaoan.runtime.action_key as action_key
import xiaoan.runtime.metrics as metrics
from xiaoan.runtime.busy import BUSY_POLICY, GuardedAction, talks_to_action_server
from xiaoan.runtime.ingress import admit
from xiaoan.runtime.replay import replay_key, stored_replies

logger = logging.getLogger(__name__)


class XiaoanProcessor(MessageProcessor):
    """Rasa's processor, with failing actions answered and repeated messages replayed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action_key.carry_key(self.action_endpoint)  # the action server serves only calls that carry the key
        # a tracker loaded for the replay check, handed to Rasa's own load of the same message
        self._loaded: Dict[Text, DialogueStateTracker] = {}

    async def get_tracker(self, conversation_id: Text) -> DialogueStateTracker:
        loaded = self._loaded.pop(conversation_id, None)
        return loaded if loaded is not None else await super().get_tracker(conversation_id)

    async def log_message(self, message: UserMessage, should_save_tracker: bool = True) -> DialogueStateTracker:
        tracker = await super().log_message(admit(message), should_save_tracker)
        latest = tracker.latest_message
        intent = (latest.intent or {}).get("name") if latest is not None else None
        metrics.intent_recognised(intent, self.domain.intents, metrics.channel_of(message))
        return tracker

    async def parse_message(
        self,
        message: UserMessage,
        tracker: Optional[DialogueStateTracker] = None,
        only_output_properties: bool = True,
    ) -> Dict[Text, Any]:
        return await super().parse_message(admit(message), tracker, only_output_properties)

    async def handle_message(self, message: UserMessage) -> Optional[List[Dict[Text, Any]]]:
        with metrics.handling(message):
            return await self._handle_message(message)

    async def _handle_message(self, message: UserMessage) -> Optional[List[Dict[Text, Any]]]:
        key = replay_key(admit(message))
        if key is None:
            return await super().handle_message(message)
        tracker = await self.get_tracker(message.sender_id)
        replies = stored_replies(tracker, key)
        if replies is None:
            message.message_id = key  # stored with the user event, found on a retry
            self._loaded[message.sender_id] = tracker  # Rasa's lock is held: nobody else changes it
            try:
                return await super().handle_message(message)
            finally:
                self._loaded.pop(message.sender_id, None)
        logger.info("message %s of a conversation seen before: its %d replies sent again", key, len(replies))
        metrics.replayed()
        await self._send_bot_messages(replies, tracker, message.output_channel)
        if isinstance(message.output_channel, CollectingOutputChannel):
            return message.output_channel.messages
        return None

    async def run_action_extract_slots(
        self, output_channel: OutputChannel, tracker: DialogueStateTracker
    ) -> DialogueStateTracker:
        """Nothing runs for a conversation a person holds (paused): Rasa would still extract slots and
        let ``action_validate_slot_mappings`` speak; the user's message is only stored (the console shows it)."""
        if not self._should_handle_message(tracker):
            return tracker
        return await super().run_action_extract_slots(output_channel, tracker)

    def _has_session_expired(self, tracker: DialogueStateTracker) -> bool:
        """A conversation a person holds never expires: a new session would reset the tracker, un-pause
        it and let the bot answer over the person's head (however long the person takes)."""
        return not tracker.is_paused() and super()._has_session_expired(tracker)

    async def _run_action(
        self,
        action: Action,
        tracker: DialogueStateTracker,
        output_channel: OutputChannel,
        nlg: NaturalLanguageGenerator,
        prediction: PolicyPrediction,
    ) -> bool:
        if not talks_to_action_server(action):
            return await super()._run_action(action, tracker, output_channel, nlg, prediction)
        guarded = GuardedAction(action)
        with metrics.action_call(action.name()) as failed:
            predict_more = await super()._run_action(guarded, tracker, output_channel, nlg, prediction)
            if guarded.failed:
                failed(guarded.error or "Exception")
        if not guarded.failed:
            return predict_more
        # listen, as after any answer: the next message picks the conversation up again
        listen = PolicyPrediction.for_action_name(self.domain, ACTION_LISTEN_NAME, BUSY_POLICY)
        return await super()._run_action(ActionListen(), tracker, output_channel, nlg, listen)

