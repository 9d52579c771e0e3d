"""The response generator's choice of variation and its placeholder rewrite, worked out once per response.

For every bot message Rasa's `TemplatedNaturalLanguageGenerator._random_response_for` filters the response's
variations by channel and slot conditions, then draws one with `np.random.choice` (which turns the list of
variations into a numpy array first), and `interpolator.interpolate_text` rewrites each of the response's strings
from "{name}" to "{0[name]}" with a regular expression before formatting: about a tenth of a turn.

- `ResponseChoice` (the generator's `_random_response_for`, replaced on the instance) remembers the suitable
  variations by (response, channel, the values of the slots its conditions name) and draws with
  `np.random.randint(0, n)`, which is what `np.random.choice` draws with: the same variation from the same random
  state, and the state left the same.
- `TemplateRe` stands in for the `re` module in `rasa.core.nlg.interpolator` (whose only use of it is that
  rewrite, checked from its source): the rewrite of every string of the domain's responses is worked out at
  install; any other string is rewritten by `re.sub` as before. Only the domain's own strings are held.

Checked by tests/test_nlg_templates.py.
"""

import ast
import inspect
import logging
import re
from typing import Any, Dict, Hashable, List, Optional, Tuple

import numpy as np
from rasa.core.nlg import interpolator
from rasa.core.nlg.generator import ResponseVariationFilter
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.core.nlg.response import logger as response_logger
from rasa.shared.constants import RESPONSE_CONDITION

PLACEHOLDER, REWRITE = r"{([^\n{}]+?)}", r"{0[\1]}"


def _strings(value: Any) -> List[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


class TemplateRe:
    """Stands in for `re` in Rasa's interpolator: the placeholder rewrite of a known template is looked up."""

    def __init__(self) -> None:
        self.rewritten: Dict[str, str] = {}

    def learn(self, responses: Dict[str, Any]) -> None:
        for text in _strings(responses):
            self.rewritten[text] = re.sub(PLACEHOLDER, REWRITE, text)

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    def sub(self, pattern: Any, repl: Any, string: Any, count: int = 0, flags: int = 0) -> Any:
        if pattern == PLACEHOLDER and repl == REWRITE and not count and not flags and type(string) is str:
            found = self.rewritten.get(string)
            if found is not None:
                return found
        return re.sub(pattern, repl, string, count=count, flags=flags)


def only_the_rewrite(module: Any) -> bool:
    """True if the module's only use of `re` is `re.sub(PLACEHOLDER, REWRITE, ...)`."""
    tree = ast.parse(inspect.getsource(module))
    uses = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "re"
    ]
    calls = {
        id(node.func): [a.value for a in node.args[:2] if isinstance(a, ast.Constant)]
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    return bool(uses) and all(node.attr == "sub" and calls.get(id(node)) == [PLACEHOLDER, REWRITE] for node in uses)


class ResponseChoice:
    """Stands in for one generator's `_random_response_for`: the same variation, drawn the same way."""

    def __init__(self, nlg: TemplatedNaturalLanguageGenerator, size: int = 10_000) -> None:
        self.nlg = nlg
        self.size = size
        # The slots each response's conditions read.
        self._names = {
            action: tuple(sorted({c["name"] for v in variations for c in v.get(RESPONSE_CONDITION) or ()}))
            for action, variations in nlg.responses.items()
        }
        self._suitable: Dict[Tuple[Hashable, ...], List[Dict[str, Any]]] = {}

    def suitable(self, action: str, channel: str, filled_slots: Dict[str, Any]) -> List[Dict[str, Any]]:
        key: Optional[Tuple[Hashable, ...]] = (action, channel) + tuple(
            filled_slots.get(name) for name in self._names.get(action, ())
        )
        try:
            found = self._suitable.get(key)
        except TypeError:  # a slot value that can't be hashed: filtered, not remembered
            key, found = None, None
        if found is None:
            found = ResponseVariationFilter(self.nlg.responses).responses_for_utter_action(
                action, channel, filled_slots
            )
            if key is not None:
                if len(self._suitable) >= self.size:
                    self._suitable.clear()
                self._suitable[key] = found
        return found

    def __call__(self, utter_action: str, output_channel: str, filled_slots: Dict[str, Any]) -> Any:
        if utter_action not in self.nlg.responses:
            return None
        suitable = self.suitable(utter_action, output_channel, filled_slots)
        if not suitable:
            return None
        selected = suitable[np.random.randint(0, len(suitable))]
        condition = selected.get(RESPONSE_CONDITION)
        if condition and response_logger.isEnabledFor(logging.DEBUG):
            conditions = self.nlg._format_response_conditions(condition)
            response_logger.debug(f"Selecting response variation with conditions:{conditions}")
        return selected


def install(agent: Any) -> Optional[ResponseChoice]:
    """The agent's generator chooses through a `ResponseChoice` and the interpolator rewrites through `TemplateRe`
    (each once, and only when they are Rasa's own code); the generator's `ResponseChoice`, or None."""
    nlg = agent.nlg
    if not isinstance(interpolator.re, TemplateRe) and interpolator.re is re and only_the_rewrite(interpolator):
        interpolator.re = TemplateRe()
    if isinstance(interpolator.re, TemplateRe):
        interpolator.re.learn(agent.domain.responses)
    if not isinstance(nlg, TemplatedNaturalLanguageGenerator):
        return None
    current = vars(nlg).get("_random_response_for")
    if isinstance(current, ResponseChoice):
        return current
    if type(nlg)._random_response_for is not TemplatedNaturalLanguageGenerator._random_response_for:
        return None
    nlg._random_response_for = choice = ResponseChoice(nlg)
    return choice


def uninstall() -> None:
    """Rasa's `re` back in the interpolator (the one module-wide swap here)."""
    if isinstance(interpolator.re, TemplateRe):
        interpolator.re = re
