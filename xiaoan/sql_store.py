"""The shared shape of the project's small SQL stores: an engine made on first use, never at import."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine


class LazyEngine:
    """A database reached through an engine opened on first use (thread-safe), never at import."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Optional[Engine] = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = self._open()
            return self._engine

    def _open(self) -> Engine:
        return create_engine(self.url, future=True, pool_pre_ping=True)

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


class LazySQLStore(LazyEngine):
    """Subclasses name their tables (`tables`); the engine is opened, and the tables made, on first use."""

    tables: MetaData

    def _open(self) -> Engine:
        if self.url.startswith("sqlite:///"):
            Path(self.url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        engine = super()._open()
        self.tables.create_all(engine)
        self.prepare(engine)
        return engine

    def prepare(self, engine: Engine) -> None:
        """After the tables exist, before first use: a subclass's migrations or seed data."""
