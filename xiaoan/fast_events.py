"""Event classes looked up by type name from a table instead of a class-tree walk.

Rasa 3.6's `Event.resolve_by_type` walks every subclass of `Event` (and asks
`inspect.isabstract` of each) for every event it reads back from the tracker
store or from the action server: py-spy put ~3 % of the Rasa server's CPU
there under load (docs/benchmarks.md). This keeps a name → class table built
from the same walk, in the same order (the first class with a name wins, as
in Rasa), and walks again when a name is missing, so a subclass imported
later is still found; anything the table cannot answer goes to Rasa's own
method (the old "topic" events, defaults, the unknown-name error).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Type

_TABLE: Dict[str, Type[Any]] = {}


def _rebuild(event_class: Type[Any]) -> None:
    import rasa.shared.utils.common as common

    table: Dict[str, Type[Any]] = {}
    for cls in common.all_subclasses(event_class):
        table.setdefault(cls.type_name, cls)
    _TABLE.clear()
    _TABLE.update(table)


def apply() -> None:
    from rasa.shared.core.events import Event

    if getattr(Event.resolve_by_type, "_xiaoan_table", False):
        return
    original = Event.resolve_by_type

    def resolve_by_type(type_name: str, default: Optional[Type[Any]] = None) -> Optional[Type[Any]]:
        found = _TABLE.get(type_name)
        if found is None:
            _rebuild(Event)
            found = _TABLE.get(type_name)
        if found is not None:
            return found
        return original(type_name, default)

    resolve_by_type._xiaoan_table = True  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[assignment]
