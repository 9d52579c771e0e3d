"""RulePolicy's search for the rules that apply, with each dialogue state's applicable rules worked out once.

On a prediction-cache miss (prediction_cache.py) Rasa's `RulePolicy._get_possible_keys` checks every rule (about
300) against the latest dialogue state, then the survivors against the state before it, and so on back through the
whole conversation: about half of a miss. Whether a rule applies at a turn index depends only on the rule, the
index and that one state, and only on what the rules read of the state: whether it has a previous action (a
conversation start has none) and the values at the (state type, key) pairs some rule names. So the set of rules
that apply at (index, those values) is remembered, and a rule can't reach further back than its own length: past
the longest rule every rule applies. No rule reads text (`install` leaves the policy alone if one does), so the
remembered states hold none.

`possible_keys` returns the very set Rasa's code builds, in the same iteration order (RulePolicy picks the longest
key with `max`, so the first of equally long keys wins): it filters the same sets in the same order, with a set
lookup in place of `_is_rule_applicable`. Checked by tests/test_rule_index.py.
"""

from types import MethodType
from typing import Any, Callable, Dict, FrozenSet, Hashable, List, Optional, Tuple

from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.nlu.constants import ACTION_TEXT, TEXT

State = Dict[str, Dict[str, Any]]
Pair = Tuple[str, str]


def _lookups(policy: RulePolicy) -> Tuple[Dict[str, str], Dict[str, str]]:
    """The policy's two rule lookups: its rules, and its rules for a loop's unhappy path."""
    return policy.lookup.get(RULES, {}), policy.lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {})


def _longest(policy: RulePolicy, lookup: Dict[str, str]) -> int:
    """The most dialogue states any rule of the lookup has (0 for none)."""
    return max((len(policy._rule_key_to_state(key)) for key in lookup), default=0)


def _pairs(policy: RulePolicy) -> Optional[Tuple[Pair, ...]]:
    """Every (state type, key) a rule of the policy reads; None if any reads text."""
    pairs = set()
    for lookup in _lookups(policy):
        for rule_key in lookup:
            for state in policy._rule_key_to_state(rule_key):
                pairs.update((kind, key) for kind, sub_state in state.items() for key in sub_state)
    if any(key in (TEXT, ACTION_TEXT) for _, key in pairs):
        return None
    return tuple(sorted(pairs))


class RuleIndex:
    """Stands in for one RulePolicy's `_get_possible_keys`; `size` bounds the remembered (lookup, index, state)s."""

    def __init__(self, policy: RulePolicy, pairs: Tuple[Pair, ...], size: int = 50_000) -> None:
        self.policy = policy
        # Rasa's own method, whatever the instance has in its place now
        self.stock: Callable[[Dict[str, str], List[State]], set] = MethodType(type(policy)._get_possible_keys, policy)
        self._pairs = pairs
        self.size = size
        self._lookups = {id(lookup): (lookup, _longest(policy, lookup)) for lookup in _lookups(policy)}
        self._applicable: Dict[Tuple[int, int, Hashable], FrozenSet[str]] = {}

    def _state_key(self, state: State) -> Hashable:
        """What any rule can read of a state (`_is_rule_applicable` and `_does_rule_match_state`)."""
        return (bool(state.get(PREVIOUS_ACTION)),) + tuple(state.get(kind, {}).get(key) for kind, key in self._pairs)

    def _applicable_at(self, lookup: Dict[str, str], index: int, state: State) -> FrozenSet[str]:
        key = (id(lookup), index, self._state_key(state))
        try:
            found = self._applicable.get(key)
        except TypeError:  # a value that can't be hashed (never in Rasa's states): worked out, not remembered
            key, found = None, None
        if found is None:
            found = frozenset(k for k in lookup if self.policy._is_rule_applicable(k, index, state))
            if key is not None:
                if len(self._applicable) >= self.size:
                    self._applicable.clear()
                self._applicable[key] = found
        return found

    def __call__(self, lookup: Dict[str, str], states: List[State]) -> set:
        known = self._lookups.get(id(lookup))
        if known is None or known[0] is not lookup:
            return self.stock(lookup, states)
        longest = known[1]
        possible_keys = set(lookup.keys())
        for index, state in enumerate(reversed(states)):
            if index < longest:
                applicable = self._applicable_at(lookup, index, state).__contains__
                possible_keys = set(filter(applicable, possible_keys))
            else:  # every rule applies this far back; the set is rebuilt as Rasa rebuilds it
                possible_keys = set(key for key in possible_keys)
        return possible_keys


def rule_policies(agent: Any) -> List[RulePolicy]:
    runner = agent.processor.graph_runner
    nodes = getattr(runner, "_nodes", None) or getattr(runner, "_instantiated_nodes", {})
    return [node._component for node in nodes.values() if isinstance(node._component, RulePolicy)]


def longest_rule(agent: Any) -> Optional[int]:
    """The most dialogue states any rule of the agent's RulePolicy has; None without exactly one RulePolicy."""
    policies = rule_policies(agent)
    if len(policies) != 1:
        return None
    (policy,) = policies
    return max(_longest(policy, lookup) for lookup in _lookups(policy)) or None


def install(agent: Any) -> List[RuleIndex]:
    """Each RulePolicy of the agent's graph finds its applicable rules through a `RuleIndex` (the instance's
    `_get_possible_keys` replaced; a second call changes nothing). Returns the indexes."""
    indexes = []
    for policy in rule_policies(agent):
        current = policy.__dict__.get("_get_possible_keys")
        if isinstance(current, RuleIndex):
            indexes.append(current)
            continue
        pairs = _pairs(policy)
        if pairs is not None:
            policy._get_possible_keys = index = RuleIndex(policy, pairs)
            indexes.append(index)
    return indexes
