"""小安's message processor: Rasa's, with these guarantees added.

* Every user message is admitted by the ingress (`xiaoan.runtime.ingress`)
  before anything parses, logs or stores it: normalised, secrets masked,
  fraud signals and the client's message id recorded. `log_message` and
  `parse_message` are the two doors every channel, `rasa shell`,
  `rasa interactive`, `rasa test` and the HTTP API go through.
* An action on the action server that fails gets the user the "system busy"
  answer instead of silence (`xiaoan.runtime.busy`).
* A message sent again with the same id is answered from the stored replies,
  not processed twice (`xiaoan.runtime.replay`), when the retry comes from the
  party that sent it first; from anyone else it is a new message.
* A conversation belongs to whoever it was verified for: before a message is
  handled, the processor notes on it whether what the conversation holds for
  its owner may go to this writer (`xiaoan.identity.parties.may_read_back`;
  the REST channel gives waiting staff messages only then).
* A message over the limits (`xiaoan.runtime.limits`: too long, too big, too fast) gets one
  answer and nothing else: not admitted, not parsed, not stored. The channels check first, before
  Rasa's lock; this check is for whatever reached Rasa without (``rasa shell``).
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
import os
from typing import Any, Dict, List, Optional, Text

from rasa.core.actions.action import Action, ActionListen, action_for_name_or_text
from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_EXTRACT_SLOTS, ACTION_LISTEN_NAME
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

import xiaoan.runtime.action_key as action_key
import xiaoan.runtime.limits as limits
import xiaoan.runtime.metrics as metrics
from xiaoan.runtime.action_session import KeepAliveEndpoint
from xiaoan.runtime.slot_extraction import domain_without_validation, latest_parse
from xiaoan.slot_validation import needs_validation
from xiaoan.runtime.busy import BUSY_POLICY, GuardedAction, talks_to_action_server
from xiaoan.identity.parties import may_read_back, owner_of, subject_of
from xiaoan.runtime.ingress import admit, note_reads_back
from xiaoan.runtime.replay import forget_key, replay_key, same_writer, stored_turn

logger = logging.getLogger(__name__)


class XiaoanProcessor(MessageProcessor):
    """Rasa's processor, with failing actions answered and repeated messages replayed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action_key.carry_key(self.action_endpoint)  # the action server serves only calls that carry the key
        if os.environ.get("XIAOAN_ACTION_KEEPALIVE", "1") != "0":  # 0: Rasa's session per call (the A/B's "off")
            self.action_endpoint = KeepAliveEndpoint.of(self.action_endpoint)  # one connection pool, not one per call
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
        refusal = await limits.gate(message)  # the channels ask first; `rasa shell`'s is Rasa's own
        if refusal is not None:  # too long, too big or too fast: one answer, nothing read, nothing stored
            await message.output_channel.send_text_message(message.sender_id, refusal.text)
            if isinstance(message.output_channel, CollectingOutputChannel):
                return message.output_channel.messages
            return None
        with metrics.handling(message):
            return await self._handle_message(message)

    async def _handle_message(self, message: UserMessage) -> Optional[List[Dict[Text, Any]]]:
        admit(message)
        # Rasa's lock is held (Agent.handle_message): the tracker loaded here is handed to Rasa's own load
        tracker = await self.get_tracker(message.sender_id)
        owner = owner_of((e.metadata for e in tracker.events if isinstance(e, UserUttered)), message.sender_id)
        note_reads_back(message, may_read_back(owner, subject_of(message.metadata, message.sender_id)))
        key = replay_key(message)
        turn = stored_turn(tracker, key) if key is not None else None
        if turn is not None and not same_writer(turn[0], message):
            logger.warning("message %s of conversation %s sent again by another party: handled as a new message",
                           key, message.sender_id)
            forget_key(message)
            turn, key = None, None
        if turn is None:
            if key is not None:
                message.message_id = key  # stored with the user event, found on a retry
            self._loaded[message.sender_id] = tracker
            try:
                return await super().handle_message(message)
            finally:
                self._loaded.pop(message.sender_id, None)
        replies = turn[1]
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
        let ``action_validate_slot_mappings`` speak; the user's message is only stored (the console shows it).

        A message that gives ``action_validate_slot_mappings`` nothing to do (`xiaoan.slot_validation`) has its
        slots extracted as Rasa does, without the round trip to the action server."""
        if not self._should_handle_message(tracker):
            return tracker
        if os.environ.get("XIAOAN_VALIDATE_EVERY_MESSAGE") == "1" or needs_validation(latest_parse(tracker),
                                                                                       tracker.get_slot):
            return await super().run_action_extract_slots(output_channel, tracker)
        action = action_for_name_or_text(ACTION_EXTRACT_SLOTS, self.domain, self.action_endpoint)
        events = await action.run(output_channel, self.nlg, tracker, domain_without_validation(self.domain))
        tracker.update_with_events(events, self.domain)
        return tracker

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

