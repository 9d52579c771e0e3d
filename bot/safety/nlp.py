"""The blank English spaCy pipeline the safety net reads with, and the English words it knows."""

from __future__ import annotations

from functools import lru_cache

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
