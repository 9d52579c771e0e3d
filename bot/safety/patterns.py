"""The safety pattern files (docs/safety.md, "Pattern files"): their labels, the loader, each pattern's anchor."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple, Union

from bot.safety.nlp import _blank_nlp
from bot.settings import SAFETY_PATTERNS

IMMEDIATE_DANGER = "immediate_danger"
ALREADY_HURT = "already_hurt"
SELF_HARM = "self_harm"
ABUSE = "abuse"
NOT_CRISIS = "not_crisis"
CRISIS_CUE = "crisis_cue"
# In priority order (see "Which crisis" in the docstring): 999-first answers, then self-harm, then abuse.
CRISIS_LABELS = (IMMEDIATE_DANGER, ALREADY_HURT, SELF_HARM, ABUSE)
LABELS = frozenset(CRISIS_LABELS + (NOT_CRISIS, CRISIS_CUE))
# Labels whose words may be about someone else, decided from the words around them (``rules.is_about_someone_else``);
# abuse is decided from the matched words alone (``rules.whose_abuse``).
WHOSE_LABELS = frozenset({ALREADY_HURT, SELF_HARM})


@dataclass(frozen=True)
class PatternRow:
    label: str
    id: str
    pattern: Optional[List[Dict[str, Any]]] = None
    phrases: Tuple[str, ...] = ()


def load_patterns(path: Union[str, Path] = SAFETY_PATTERNS) -> List[PatternRow]:
    """Read and check the JSONL pattern file; raises ValueError naming the line of any mistake."""
    rows: List[PatternRow] = []
    labels_by_id: Dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{where}: not JSON ({error})") from None
            label, pattern_id = obj.get("label"), obj.get("id")
            if label not in LABELS:
                raise ValueError(f"{where}: label must be one of {sorted(LABELS)}, not {label!r}")
            if not isinstance(pattern_id, str) or not pattern_id:
                raise ValueError(f"{where}: every pattern needs a non-empty string id")
            if labels_by_id.setdefault(pattern_id, label) != label:
                raise ValueError(f"{where}: id {pattern_id!r} is already used with another label")
            unknown = set(obj) - {"label", "id", "pattern", "phrase", "note", "lang", "source"}
            if unknown:
                raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
            if ("pattern" in obj) == ("phrase" in obj):
                raise ValueError(f"{where}: give exactly one of 'pattern' or 'phrase'")
            if "pattern" in obj:
                pattern = obj["pattern"]
                if not isinstance(pattern, list) or not pattern or not all(isinstance(t, dict) for t in pattern):
                    raise ValueError(f"{where}: 'pattern' must be a non-empty list of token objects")
                rows.append(PatternRow(label, pattern_id, pattern=pattern))
            else:
                phrase = obj["phrase"]
                phrases = (phrase,) if isinstance(phrase, str) else tuple(phrase)
                if not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
                    raise ValueError(f"{where}: 'phrase' must be a string or a list of non-empty strings")
                rows.append(PatternRow(label, pattern_id, phrases=phrases))
    return rows


_AT_LEAST_ONCE = re.compile(r"^\{[1-9][0-9]*(,[0-9]*)?\}$")  # "{2}", "{1,3}", "{1,}"


def pattern_anchor(pattern: Sequence[Dict[str, Any]]) -> Optional[FrozenSet[str]]:
    """The words one token of `pattern` must be for it to match at all (preferring rare words), or None.

    Only a token matched on LOWER alone (a word or an IN list) that must occur (no OP, or "+", or "{n,m}" with n at
    least 1) can be an anchor; of those, the one with the fewest common English words, then the fewest words.
    """
    best: Optional[Tuple[Tuple[int, int], FrozenSet[str]]] = None
    for token in pattern:
        op = token.get("OP")
        if set(token) - {"LOWER", "OP"} or not (op is None or op == "+" or _AT_LEAST_ONCE.match(op)):
            continue
        value = token.get("LOWER")
        if isinstance(value, str):
            words = frozenset({value})
        elif isinstance(value, dict) and set(value) == {"IN"}:
            words = frozenset(value["IN"])
        else:
            continue
        score = (len(words & _blank_nlp().Defaults.stop_words), len(words))
        if words and (best is None or score < best[0]):
            best = (score, words)
    return best[1] if best else None
