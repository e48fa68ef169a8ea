"""Action-server replies validated against a schema that is checked once, not every time.

Rasa 3.6's `RemoteAction._validate_action_result` calls `jsonschema.validate`
on every reply from the action server, and here an action runs on every
message (`action_validate_slot_mappings`). `jsonschema.validate` re-checks the
schema against its meta-schema and builds a new validator on each call: py-spy
put ~40 % of the Rasa server's CPU there under load (docs/benchmarks.md).

`install()` replaces that one method, nothing else: the reply is validated
against the same schema (`RemoteAction.action_response_format_spec()`, which
is constant) by a validator built once, and a bad reply raises the same
`ValidationError` with Rasa's own hint appended.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Text

from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    klass = jsonschema.validators.validator_for(schema)
    klass.check_schema(schema)
    return klass(schema)


def validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """`RemoteAction._validate_action_result` with the validator built once."""
    import jsonschema

    error = jsonschema.exceptions.best_match(_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def install() -> None:
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
