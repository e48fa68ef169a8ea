"""Candidate fix, measured by the benchmark: validate action-server responses with a cached validator.

Rasa 3.6's `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)`
for every custom-action response (action_validate_slot_mappings runs on every message here).
With jsonschema 4.17 that call first re-checks the schema against the 2020-12 meta-schema
(`check_schema`) and builds a new validator each time; py-spy put ~40 % of the Rasa server's
CPU there under load. This wraps `jsonschema.validate` so the schema check and the validator
are done once per schema (the instance is still fully validated, same errors raised).
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
