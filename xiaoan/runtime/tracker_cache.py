"""The last saved tracker of recent conversations, kept in memory in front of SQL.

Why: reading a conversation back (the SQL query, JSON decoding and replaying
every event into a new tracker) was 14 % of the Rasa server's CPU per message,
although the server itself had written those very events a moment before.

Correct with several servers because of two facts: Rasa's lock store lets
one server at a time handle a conversation, and the store can say cheaply
whether anything was written since (the conversation's largest event id).
An entry is used only when that id is still the one this server wrote last
and the tracker object was not changed after it was saved (same number of
events, same last event). A tracker is handed out once (`take` removes it):
whoever holds it owns it until it is saved again, so no two callers ever
share one object. Everything else reads SQL as before.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Optional, Text, Tuple

from rasa.shared.core.trackers import DialogueStateTracker

DEFAULT_SIZE = 2048


@dataclass
class _Entry:
    tracker: DialogueStateTracker
    last_id: Any  # the conversation's largest event id in the store when it was saved
    events: int  # len(tracker.events) then
    last_event: Any  # tracker.events[-1] then (identity, not equality)


def _unchanged(entry: _Entry) -> bool:
    events = entry.tracker.events
    return len(events) == entry.events and (not events or events[-1] is entry.last_event)


class TrackerCache:
    """An LRU map conversation id → its last saved tracker, handed out once."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._entries: "OrderedDict[Text, _Entry]" = OrderedDict()
        self._held: "OrderedDict[Text, Tuple[DialogueStateTracker, int]]" = OrderedDict()
        self.hits = 0
        self.misses = 0

    def take(self, sender_id: Text, last_id: Any) -> Optional[DialogueStateTracker]:
        """The cached tracker if the store's largest event id is still `last_id` as saved; removed either way."""
        entry = self._entries.pop(sender_id, None)
        if entry is not None and last_id is not None and entry.last_id == last_id and _unchanged(entry):
            self.hits += 1
            return entry.tracker
        self.misses += 1
        return None

    def put(self, tracker: DialogueStateTracker, last_id: Any) -> None:
        """Remember `tracker` as saved with the store's largest event id `last_id`."""
        if self.size <= 0 or last_id is None:
            return
        events = tracker.events
        self._entries[tracker.sender_id] = _Entry(tracker, last_id, len(events), events[-1] if events else None)
        self._entries.move_to_end(tracker.sender_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, sender_id: Text) -> None:
        self._entries.pop(sender_id, None)

    def hold(self, tracker: DialogueStateTracker, stored: int) -> None:
        """Note that `tracker`, as handed out or saved, has its first `stored` events in the store."""
        self._held[tracker.sender_id] = (tracker, stored)
        self._held.move_to_end(tracker.sender_id)
        while len(self._held) > max(self.size, 1):
            self._held.popitem(last=False)

    def stored_events(self, tracker: DialogueStateTracker) -> Optional[int]:
        """How many of `tracker`'s events are in the store, if this very object was handed out or saved here."""
        held = self._held.pop(tracker.sender_id, None)
        return held[1] if held is not None and held[0] is tracker else None

    def __len__(self) -> int:
        return len(self._entries)
