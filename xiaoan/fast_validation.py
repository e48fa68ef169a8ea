"""Action-server replies validated with a cached validator.

Rasa 3.6's `RemoteAction._validate_action_result` calls `jsonschema.validate`
on every reply from the action server, and here an action runs on every
message (`action_validate_slot_mappings`). jsonschema re-checks the schema
against its meta-schema and builds a new validator on each call: py-spy put
~40 % of the Rasa server's CPU there under load (docs/benchmarks.md). This
checks each schema once and keeps its validator; every reply is still fully
validated and a bad one raises the same error.
"""
from __future__ import annotations

import json
from typing import Any, Dict

_VALIDATORS: Dict[str, Any] = {}


def apply() -> None:
    import jsonschema

    if getattr(jsonschema.validate, "_xiaoan_cached", False):
        return
    original = jsonschema.validate

    def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
        try:
            key = json.dumps(schema, sort_keys=True, default=str) + repr(cls)
        except (TypeError, ValueError):
            return original(instance, schema, cls, *args, **kwargs)
        validator = _VALIDATORS.get(key)
        if validator is None:
            klass = cls or jsonschema.validators.validator_for(schema)
            klass.check_schema(schema)
            validator = klass(schema, *args, **kwargs)
            _VALIDATORS[key] = validator
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    validate._xiaoan_cached = True  # type: ignore[attr-defined]
    jsonschema.validate = validate
