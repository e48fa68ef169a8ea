"""Rasa's response rendering, with 小安's facts: one figure per fact in every answer.

Responses in domain.yml state no figure themselves: they name a fact of
``content/facts.yml`` (``{reversal_max}``, ``{anti_fraud_hotline}``) and, for
the bank the user named (the ``bank`` slot), ``{bank_name}`` and
``{bank_hotline}`` from ``content/banks.yml``. This generator is Rasa's own
`TemplatedNaturalLanguageGenerator` with those values added to the slots and
to the values an action passes (`xiaoan.content.values`, the same values the
action server renders with). A response's conditions see the ``bank`` slot as
the full name of a bank we know, or None (`xiaoan.content.condition_slots`).

Rasa loads it from the endpoints file (rasa.core.nlg.generator loads any
``nlg: type: <module.Class>`` with ``endpoint_config`` and ``domain``)::

    nlg:
      type: xiaoan.runtime.nlg.FactsNaturalLanguageGenerator

The agent hands it the model's responses when the model is loaded, as it does
for Rasa's own generator.
"""
from __future__ import annotations

import copy
from typing import Any, Dict, Optional, Text

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from xiaoan import content


class FactsNaturalLanguageGenerator(TemplatedNaturalLanguageGenerator):
    """Rasa's response generator; every response is filled with the facts and the named bank's hotline too."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None) -> None:
        super().__init__(domain.responses if domain else {})

    def generate_from_slots(
        self,
        utter_action: Text,
        filled_slots: Dict[Text, Any],
        output_channel: Text,
        **kwargs: Any,
    ) -> Optional[Dict[Text, Any]]:
        response = self._random_response_for(utter_action, output_channel, content.condition_slots(filled_slots))
        if response is None:
            return None
        return self._fill_response(copy.deepcopy(response), None, **content.values(filled_slots, **kwargs))
