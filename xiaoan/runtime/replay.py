"""A message sent twice is answered twice, but processed once.

Clients retry: WeChat re-sends a callback up to three times, a browser or a
load balancer (nginx's `proxy_next_upstream`) re-sends a request whose server
died. With several Rasa servers the retry may reach another server. A message
that carries an id (recorded by the ingress from the REST body's
`message_id`, WeChat's `MsgId` or the chat page's id) is stored with it; when
the same id comes again for the same conversation, the replies stored after
it are sent back and nothing runs again. The check runs under Rasa's
conversation lock, so a retry that arrives while the first attempt is still
running waits for it and then gets its replies.

Stored replies are the first writer's: they go back only to a retry from the
same party (`xiaoan.identity.parties.same_party`: the same verified subject,
or nobody verified, on the same channel, both records sealed by the ingress).
Anyone else who sends a known id (a stranger on a known REST sender, another
customer's token, another channel) has the message processed as a new one,
under an id of its own: the stored replies are not sent, and nothing keyed by
the first writer's id (a ticket's request key) is reached.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from xiaoan.identity.parties import party_of, same_party
from xiaoan.runtime.ingress import admitted_facts


def replay_key(message: UserMessage) -> Optional[str]:
    """The client's id for this admitted message, if it sent a usable one."""
    facts = admitted_facts(message.metadata) or {}
    return facts.get("message_id")


def stored_turn(tracker: DialogueStateTracker, key: str) -> Optional[Tuple[UserUttered, List[Event]]]:
    """The stored message with this id and the bot's replies to it; None if it was never stored."""
    stored: Optional[UserUttered] = None
    replies: List[Event] = []
    for event in tracker.events:
        if isinstance(event, UserUttered):
            if stored is not None:
                break  # the next user message: its replies end here
            if event.message_id == key:
                stored = event
        elif stored is not None and isinstance(event, BotUttered):
            replies.append(event)
    return (stored, replies) if stored is not None else None


def stored_replies(tracker: DialogueStateTracker, key: str) -> Optional[List[Event]]:
    """The bot's replies to the stored message with this id; None if it was never stored."""
    turn = stored_turn(tracker, key)
    return turn[1] if turn is not None else None


def same_writer(stored: UserUttered, retry: UserMessage) -> bool:
    """Whether the retry comes from the party that wrote the stored message (`same_party`)."""
    conversation = retry.sender_id
    return same_party(party_of(stored.metadata, conversation), party_of(retry.metadata, conversation))


def forget_key(message: UserMessage) -> None:
    """The admitted message keeps no client id: it is processed as new, under Rasa's own id for it."""
    facts = admitted_facts(message.metadata)
    if facts is not None:
        facts["message_id"] = None
