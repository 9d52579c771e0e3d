"""The safety net as a Rasa graph component: ``SafetyNet`` runs ``bot.safety``'s rules last in the NLU pipeline.

A crisis rule overrides the model's intent; an idiom or a negation may veto a crisis the model predicted; a message
the bot cannot read gets ``not_english``. The rules themselves, and why, are in docs/safety.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.concerns import CRISIS, concern_for
from bot.safety import ABUSE, SafetyRules, Verdict
from bot.safety.languages import vocabulary
from bot.settings import ROOT, SAFETY_PATTERN_FILES

VETO_LABEL = "out_of_scope"
FRIEND_AT_RISK = "friend_at_risk"  # the intent for self-harm words about someone else (bot/concerns.py: a crisis)
NOT_ENGLISH = "not_english"  # the intent for a message the bot cannot read (bot/safety/languages.py)
INTENT_FOR_LABEL = {ABUSE: "abuse_disclosure"}  # every other crisis label is its own intent
# About someone else: a friend abused by someone they know (a danger crisis, bot/concerns.py); other crisis words
# about someone else are a friend at risk.
SOMEONE_ELSES = {ABUSE: "friend_abused"}

SAFETY_KEY = "safety"
UNREADABLE_KEY = "unreadable"  # the bot cannot read it, whatever the intent (the engine adds "I only read English")
Config = Dict[str, Any]  # a component's configuration


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SafetyNet(GraphComponent, IntentClassifier):
    """Runs the safety rules after the model; a crisis rule overrides the model's intent.

    Config: ``patterns`` (a path to a JSONL file, or a list of them; default ``bot.settings.SAFETY_PATTERN_FILES``,
    the main file and the other languages' file; relative paths are taken from the project root) and ``veto``
    (whether an idiom or negation may overrule a crisis prediction of the model when no crisis rule fired; measured
    on the held-out set it removes false alarms and no crisis).
    Patterns are read when the model loads, so editing the file needs no retraining, only a restart. Training
    keeps one thing in the model: the training examples' words, which count as English for the unreadable check.
    """

    WORDS_FILE = "training_words.json"

    @classmethod
    def required_components(cls) -> List[Type]:
        # It must run after the intent classifier, which config.yml's order ensures at inference; Rasa checks required
        # components on the training graph too, where this component trains on the examples alone.
        return []

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # No path here: a default stored in the trained model would pin this machine's path.
        return {"patterns": None, "veto": True}

    def __init__(
        self, config: Dict[str, Any], rules: SafetyRules, model_storage: ModelStorage = None, resource: Resource = None
    ) -> None:
        self.component_config = config
        self.rules = rules
        self._model_storage = model_storage
        self._resource = resource

    @staticmethod
    def _rules(config: Dict[str, Any], words: Optional[FrozenSet[str]]) -> SafetyRules:
        paths = config.get("patterns") or SAFETY_PATTERN_FILES
        paths = [paths] if isinstance(paths, (str, Path)) else paths
        return SafetyRules.from_paths((path if Path(path).is_absolute() else ROOT / path for path in paths), words)

    @classmethod
    def create(
        cls, config: Config, model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> "SafetyNet":
        return cls(config, cls._rules(config, None), model_storage, resource)

    def train(self, training_data: Any) -> Resource:
        words = vocabulary(example.get(TEXT) for example in training_data.training_examples)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / self.WORDS_FILE).write_text(json.dumps(sorted(words)), encoding="utf-8")
        self.rules.words = words
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "SafetyNet":
        with model_storage.read_from(resource) as directory:
            words = frozenset(json.loads((directory / cls.WORDS_FILE).read_text(encoding="utf-8")))
        return cls(config, cls._rules(config, words), model_storage, resource)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self.apply(message, self.rules.check(message.get(TEXT) or ""))
        return messages

    def apply(self, message: Message, verdict: Verdict) -> None:
        """Set the message's intent from the verdict: a crisis rule always wins; a veto only undoes a crisis; a message
        the bot cannot read gets ``not_english`` unless the model found a crisis in it (either way it is marked
        ``unreadable``, so that the answer can say the bot reads English)."""
        if verdict.unreadable:
            message.set(UNREADABLE_KEY, True, add_to_output=True)
        if verdict.label:
            if verdict.someone_else:
                intent = SOMEONE_ELSES.get(verdict.label, FRIEND_AT_RISK)
            else:
                intent = INTENT_FOR_LABEL.get(verdict.label, verdict.label)
            self._set_intent(message, intent, verdict.pattern)
            return
        predicted = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        model_crisis = concern_for(predicted or "") in CRISIS
        if self.component_config.get("veto", True) and verdict.veto and model_crisis:
            self._set_intent(message, VETO_LABEL, verdict.veto)
        elif verdict.unreadable and not model_crisis:
            self._set_intent(message, NOT_ENGLISH, "unreadable")

    @staticmethod
    def _set_intent(message: Message, name: str, pattern: Optional[str]) -> None:
        intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != name]
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [intent] + ranking, add_to_output=True)
        message.set(SAFETY_KEY, {"label": name, "pattern": pattern}, add_to_output=True)
