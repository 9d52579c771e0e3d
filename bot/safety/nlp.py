"""The blank English spaCy pipeline the safety net reads with, and the English words it knows."""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import spacy


@lru_cache(maxsize=1)
def _blank_nlp() -> spacy.language.Language:
    """English tokenizer and lookup lemmatizer, no statistical model (spacy-lookups-data supplies the table)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset:
    """Every English word form the lookup lemmatizer knows, to undo stretched spelling ("diiiie")."""
    table = _blank_nlp().get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    return frozenset(table.values())


def _known(word: str) -> bool:
    table = _blank_nlp().get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    return word in table or word in _vocabulary()


def keep_words(words: Iterable[str]) -> None:
    """Give these words a lasting entry in the vocabulary: the training data's words and the stop words, never a
    message's. Each message is read in a memory zone (``SafetyRules._scan``), which forgets every word it had to add,
    so without this every ordinary word of every message was built anew (its spelling features worked out in
    Python): about a third of the spaCy pipeline's time. The entries are the ones spaCy would build for the word in
    the zone, so nothing read changes; a speed-up, left out with ``SIGNPOST_SPEEDUPS=0``."""
    vocab = _blank_nlp().vocab
    for word in words:
        vocab[word]  # creates the lexeme (outside any memory zone: it stays)
