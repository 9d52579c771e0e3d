"""Which strings a text must contain for a regular expression to match anywhere in it: ``needles(pattern)``.

The safety net rewrites every message with about ninety regular expressions in turn (``bot.safety.textspeak``), and
most of them find nothing in a given message. Scanning 500 characters for a pattern that starts with ``\\b`` costs
the regex engine a try at every position; asking whether "slide" occurs at all is a plain substring search, many
times faster. ``needles`` reads a pattern's parse tree and gives a set of strings of which any match must contain
one (or None when it cannot tell). When a text contains none of them the pattern cannot match it, so its ``sub``
would return the text unchanged and can be skipped: the same text, whatever the message.

Sound by construction, conservatively: every part of the tree it does not understand gives None (no skipping).
"""

from __future__ import annotations

import sre_constants as C
import sre_parse
from typing import FrozenSet, List, Optional, Pattern

Needles = Optional[FrozenSet[str]]
# A set of one-character alternatives ("[u*]") is used only when it is this small.
_MAX_CLASS = 4


def needles(pattern: Pattern[str]) -> Needles:
    """Strings of which every match of ``pattern`` contains at least one, or None if unknown (never skip it)."""
    if pattern.flags & ~(C.SRE_FLAG_UNICODE):  # a flag (IGNORECASE, VERBOSE ...) changes what matches: unknown
        return None
    return _required(sre_parse.parse(pattern.pattern))


def _required(items: "sre_parse.SubPattern") -> Needles:
    """A sequence matches only where each of its parts does, so any part's needles are the sequence's: the best."""
    candidates: List[FrozenSet[str]] = []
    run: List[str] = []  # consecutive literal characters, which must occur side by side
    for op, value in items:
        if op is C.LITERAL:
            run.append(chr(value))
            continue
        if run:
            candidates.append(frozenset({"".join(run)}))
            run = []
        found = _part(op, value)
        if found:
            candidates.append(found)
    if run:
        candidates.append(frozenset({"".join(run)}))
    if not candidates:
        return None
    return max(candidates, key=lambda strings: (min(map(len, strings)), -len(strings)))


def _part(op: object, value: object) -> Needles:
    """The needles of one part of a sequence other than a plain character."""
    if op is C.BRANCH:  # one alternative matches: the needles of all of them, if every one has some
        alternatives = [_required(alternative) for alternative in value[1]]
        if any(a is None for a in alternatives):
            return None
        return frozenset().union(*alternatives)
    if op is C.SUBPATTERN:
        _group, add_flags, del_flags, inner = value
        return None if add_flags or del_flags else _required(inner)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        low, _high, inner = value
        return _required(inner) if low >= 1 else None  # repeated at least once: the inner part's needles
    if op is C.ASSERT:  # a lookahead or lookbehind: what it looks at is in the text too
        _direction, inner = value
        return _required(inner)
    if op is C.IN:
        if len(value) <= _MAX_CLASS and all(kind is C.LITERAL for kind, _ in value):
            return frozenset(chr(code) for _, code in value)
        return None
    return None  # AT (\b, ^, $), categories, negative lookarounds, any character ...: no needle


def may_match(found: Needles, text: str) -> bool:
    """False only when ``text`` contains none of the needles, so the pattern cannot match it."""
    return found is None or any(needle in text for needle in found)
