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
"""
from __future__ import annotations

from typing import List, Optional

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from xiaoan.runtime.ingress import admitted_facts


def replay_key(message: UserMessage) -> Optional[str]:
    """The client's id for this admitted message, if it sent a usable one."""
    facts = admitted_facts(message.metadata) or {}
    return facts.get("message_id")


def stored_replies(tracker: DialogueStateTracker, key: str) -> Optional[List[Event]]:
    """The bot's replies to the stored message with this id; None if it was never stored."""
    replies: Optional[List[Event]] = None
    for event in tracker.events:
        if isinstance(event, UserUttered):
            if replies is not None:
                break  # the next user message: its replies end here
            if event.message_id == key:
                replies = []
        elif replies is not None and isinstance(event, BotUttered):
            replies.append(event)
    return replies
