"""Rasa's SQL tracker store, with a last-line check that no secret is written.

The ingress (`xiaoan.runtime.ingress`) has masked every user message before
it reaches a tracker. This store runs the same masking function once more on
the text of each event it writes: not a second implementation, a guard for
what no ingress saw (events posted through the HTTP API, a bot text that
echoed a number, a Rasa started without the runtime).

On SQLite (the default run) the file is put in write-ahead-log mode with
`synchronous=NORMAL`: a commit no longer waits for the disk (the save runs on
the server's event loop, so a waiting commit holds up every conversation), and
a crash of the server still loses nothing committed; only a power cut can undo
the last transactions. The connection is kept open per thread instead of
being opened and closed for every read and write (SQLAlchemy 1.4's default for
SQLite files), and new events are written with one Core insert rather than
the ORM's unit of work. PostgreSQL is left as configured.

On every database, the tracker this server saved last is kept in memory
(`xiaoan.runtime.tracker_cache`) and handed back when the conversation's
largest event id in the store shows nothing was written since; the count of
stored events a save needs is then known too. `XIAOAN_TRACKER_CACHE_SIZE=0`
turns it off.
"""
from __future__ import annotations

import itertools
import json
import logging
import os

import sqlalchemy
from pathlib import Path
from typing import Any, Dict, Optional, Text

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.orm import sessionmaker
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from xiaoan.identity import TOKEN_KEY as IDENTITY_TOKEN_KEY
from xiaoan.runtime.tracker_cache import DEFAULT_SIZE, TrackerCache
from xiaoan.text.masking import mask_text

logger = logging.getLogger(__name__)
_LAST_EVENT_ID = sqlalchemy.text("SELECT max(id) FROM events WHERE sender_id = :sender")


def mask_event_data(data: Dict[Text, Any]) -> Dict[Text, Any]:
    """A copy of a serialised event whose free text fields are masked."""
    masked = dict(data)
    if isinstance(masked.get("text"), str):
        masked["text"] = mask_text(masked["text"])
    parse_data = masked.get("parse_data")
    if isinstance(parse_data, dict) and isinstance(parse_data.get("text"), str):
        masked["parse_data"] = dict(parse_data, text=mask_text(parse_data["text"]))
    metadata = masked.get("metadata")
    if isinstance(metadata, dict) and IDENTITY_TOKEN_KEY in metadata:  # a token the ingress never saw
        masked["metadata"] = {k: v for k, v in metadata.items() if k != IDENTITY_TOKEN_KEY}
    return masked


def keep_connections_open(engine: Any) -> Any:
    """The same SQLite database through one long-lived connection per thread."""
    import sqlalchemy
    from sqlalchemy.pool import SingletonThreadPool

    url = engine.url
    engine.dispose()
    return sqlalchemy.create_engine(url, poolclass=SingletonThreadPool)


def use_write_ahead_log(engine: Any) -> None:
    """WAL journal (kept in the file) and synchronous=NORMAL on every connection of `engine`."""
    from sqlalchemy import event

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(engine, "connect", on_connect)
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode=WAL").scalar()
    if str(mode).lower() != "wal":  # e.g. an in-memory database
        logger.debug(f"SQLite journal mode stays {mode}.")


class MaskingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose `save` masks user and bot text before writing."""

    def __init__(self, *args: Any, db: Text = "var/tracker.db", dialect: Text = "sqlite", **kwargs: Any) -> None:
        if dialect == "sqlite" and db and not db.startswith(":"):
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(*args, db=db, dialect=dialect, **kwargs)
        if dialect == "sqlite":
            self.engine = keep_connections_open(self.engine)
            self.sessionmaker = sessionmaker(bind=self.engine)
            use_write_ahead_log(self.engine)
        self.cache = TrackerCache(int(os.environ.get("XIAOAN_TRACKER_CACHE_SIZE", DEFAULT_SIZE)))

    def _last_event_id(self, connection: Any, sender_id: Text) -> Any:
        """The conversation's largest event id: it changes whenever any server writes to the conversation.
        A plain statement on a connection: an ORM session and select() cost 5 times as much, every message."""
        return connection.execute(_LAST_EVENT_ID, {"sender": sender_id}).scalar()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        tracker = None
        if self.cache.size > 0:
            with self.engine.connect() as connection:
                tracker = self.cache.take(sender_id, self._last_event_id(connection, sender_id))
        if tracker is None:
            tracker = await super().retrieve(sender_id)
        if tracker is not None:
            self.cache.hold(tracker, len(tracker.events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        stored = self.cache.stored_events(tracker)
        with self.session_scope() as session:
            rows = []
            new_events = (itertools.islice(tracker.events, stored, None) if stored is not None
                          else self._additional_events(session, tracker))
            new_session = False
            for event in new_events:
                new_session = new_session or isinstance(event, SessionStarted)
                data = mask_event_data(event.as_dict())
                intent: Optional[Text] = (data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY)
                rows.append({
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": intent,
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                })
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
            last_id = self._last_event_id(session, tracker.sender_id) if self.cache.size > 0 else None  # same txn
        if new_session and tracker.events and not isinstance(tracker.events[0], SessionStarted):
            # the store now reads back from the new session on; this tracker also holds the one before
            self.cache.forget(tracker.sender_id)
        else:
            self.cache.put(tracker, last_id)
            self.cache.hold(tracker, len(tracker.events))
        logger.debug("Tracker stored with secrets masked.")
