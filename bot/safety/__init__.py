"""The safety net's pure layer: spaCy rules that make sure "I'm in danger" and "I want to die" are never missed.

No Rasa here (``bot.rasa_ext.safety_net`` is the Rasa component that runs these rules); the spec is docs/safety.md.
``SafetyRules.from_paths().check(text)`` gives a ``Verdict``; ``normalise(text)`` is the text the patterns see.
"""

from bot.safety.nlp import _blank_nlp, _known
from bot.safety.normalise import _rewrite, fold, normalise
from bot.safety.patterns import (
    ABUSE,
    ALREADY_HURT,
    CRISIS_CUE,
    CRISIS_LABELS,
    IMMEDIATE_DANGER,
    LABELS,
    NOT_CRISIS,
    SELF_HARM,
    WHOSE_LABELS,
    PatternRow,
    load_patterns,
    pattern_anchor,
)
from bot.safety.rules import Hit, SafetyRules, Verdict, is_about_someone_else, is_negated

__all__ = [
    "ABUSE",
    "ALREADY_HURT",
    "CRISIS_CUE",
    "CRISIS_LABELS",
    "IMMEDIATE_DANGER",
    "LABELS",
    "NOT_CRISIS",
    "SELF_HARM",
    "WHOSE_LABELS",
    "Hit",
    "PatternRow",
    "SafetyRules",
    "Verdict",
    "fold",
    "is_about_someone_else",
    "is_negated",
    "load_patterns",
    "normalise",
    "pattern_anchor",
    "_blank_nlp",
    "_known",
    "_rewrite",
]
