"""What the processor needs to extract slots without `action_validate_slot_mappings` (xiaoan/slot_validation.py).

Rasa's ActionExtractSlots calls that action whenever the domain lists it; given a
copy of the domain without it, the same extraction runs and no call is made.
The copy is made once per domain (a new model brings a new one).
"""
from __future__ import annotations

from typing import Any, Dict

from rasa.shared.core.constants import ACTION_VALIDATE_SLOT_MAPPINGS
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

_WITHOUT: Dict[int, Domain] = {}


def domain_without_validation(domain: Domain) -> Domain:
    """`domain` with `action_validate_slot_mappings` left out of its actions (cached per domain object)."""
    cached = _WITHOUT.get(id(domain))
    if cached is None:
        data = domain.as_dict()
        data["actions"] = [a for a in data.get("actions") or [] if a != ACTION_VALIDATE_SLOT_MAPPINGS]
        cached = Domain.from_dict(data)
        _WITHOUT.clear()  # only the current model's domain is ever asked for
        _WITHOUT[id(domain)] = cached
    return cached


def latest_parse(tracker: DialogueStateTracker) -> Dict[str, Any]:
    """The latest user message as the validation action reads it: intent, entities, metadata, fraud signals."""
    latest = tracker.latest_message
    if latest is None:
        return {}
    return {"intent": latest.intent or {}, "entities": latest.entities or [], "metadata": latest.metadata or {},
            "fraud_signals": (latest.parse_data or {}).get("fraud_signals")}
