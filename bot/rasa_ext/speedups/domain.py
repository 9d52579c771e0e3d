"""Whether the domain is empty, worked out once per loaded domain instead of on every message.

Rasa asks `Domain.is_empty()` on every message, by serialising the whole domain and comparing it with an empty one
(a quarter of a turn). A loaded domain never changes, so the instance's `is_empty` is replaced by its answer.
Checked by tests/test_engine.py (the answer is Rasa's, and is worked out once).
"""

from rasa.core.agent import Agent
from rasa.shared.core.domain import Domain


def install(agent: Agent) -> None:
    """Each domain the agent uses answers `is_empty()` from one call of Rasa's own `Domain.is_empty`."""
    for domain in {id(d): d for d in (agent.domain, agent.processor.domain)}.values():
        empty = Domain.is_empty(domain)
        domain.is_empty = lambda empty=empty: empty
