"""Whether the bot can read a message at all: Signpost reads English only.

A message it cannot read gets, in English, "I can only read English" with Childline and 999 (the intent
``not_english``), never a guess from the model or a bare menu. Crisis words in other languages are safety patterns
(``nlu/safety_patterns_languages.jsonl``) and win over this: they get the crisis answer.

The heuristic, on the safety net's normalised words (accents and look-alike letters already folded, text-speak
written out):

- Letters of other scripts: more than half of the message's letters are not Latin (Arabic, Bengali, Cyrillic,
  Gujarati, Gurmukhi ... all count the same).
- Latin letters but no English: at least two words of two or more letters, and fewer than half of them are
  English. A word is English when the lookup lemmatizer knows it (its table, as a word or a lemma), when it is one of
  spaCy's English stop words, or when it occurs in the training data (so "lol", "insta" and "sc" count): the safety
  net keeps those words in the trained model (``bot.rasa_ext.safety_net.SafetyNet.train``), so an installed wheel
  without ``nlu/`` has them.
  One word alone ("hola") is left to the model, which answers what it does not understand with the menu and Childline.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import FrozenSet, Iterable

import yaml

from bot.settings import NLU_DIR

MAX_ENGLISH_SHARE = 0.5
_WORD = re.compile(r"[a-z]{2,}")


def vocabulary(texts: Iterable[str]) -> FrozenSet[str]:
    """Every lower-case word of two or more letters in these texts (the training examples)."""
    return frozenset(word for text in texts for word in _WORD.findall((text or "").lower()))


@lru_cache(maxsize=1)
def checkout_words() -> FrozenSet[str]:
    """The training examples' words read from ``nlu/`` in a checkout, for safety rules built outside a model."""
    texts = []
    for path in sorted(NLU_DIR.rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            texts.append(str(block.get("examples") or ""))
    return vocabulary(texts)


def is_unreadable(words: Iterable[str], known) -> bool:
    """Whether a message of these normalised words is not English; ``known(word)`` says if a word is English."""
    words = list(words)
    # Plain ASCII has no letters of other scripts, and without a letter it has no word of two letters either (the
    # answer below is then False, as for a message without letters): the letters are counted only otherwise.
    if not all(word.isascii() for word in words):
        letters = [ch for word in words for ch in word if ch.isalpha()]
        if not letters:
            return False  # emoji, numbers, blank: not a language question
        other_script = sum(not (ch.isascii() or unicodedata.name(ch, "").startswith("LATIN")) for ch in letters)
        if other_script * 2 > len(letters):
            return True
    latin_words = [w for w in words if _WORD.fullmatch(w)]
    if len(latin_words) < 2:
        return False
    enough = MAX_ENGLISH_SHARE * len(latin_words)
    english = 0
    for word in latin_words:  # English as soon as enough words are: the rest can't change that
        english += bool(known(word))
        if english >= enough:
            return False
    return True
