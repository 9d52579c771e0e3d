"""Rasa's response generator with every {placeholder} filled from responses/services.yml (endpoints.yml names it).

`_response_variables` is a private static method of Rasa's `TemplatedNaturalLanguageGenerator`, overridden here: it
is how the numbers get into the answers, not a speed-up, so it is always on (bot/rasa_ext/speedups/README.md).
"""

from typing import Any, Dict, Optional

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain

from bot import service_numbers


class ServicesNLG(TemplatedNaturalLanguageGenerator):
    """Rasa's response generator, with every {placeholder} filled from responses/services.yml."""

    def __init__(self, endpoint_config: Any = None, domain: Optional[Domain] = None) -> None:
        super().__init__(domain.responses if domain else {})

    @staticmethod
    def _response_variables(filled_slots: Dict[str, Any], kwargs: Dict[str, Any]) -> Dict[str, Any]:
        values = service_numbers.placeholders()
        values.update(filled_slots or {})
        values.update(kwargs)
        return values
