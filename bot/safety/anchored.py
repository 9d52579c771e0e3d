"""The safety net's token patterns, grouped by anchor word and run only near it: ``AnchoredMatchers``.

spaCy's Matcher tries each of its patterns at every token of a message, so its cost grows with patterns times
tokens. Two things cut that down, and neither changes a match:

- A group of patterns runs only when its anchor (a word each of them cannot match without,
  ``patterns.pattern_anchor``) is in the message.
- Every pattern has a longest match (no ``*`` or ``+``), so a match holding the anchor token at position ``p`` lies
  within ``[p - longest + 1, p + longest)``; the group runs on those windows only, not on the whole message. A
  100-word message has about 30 groups whose anchor occurs, and their windows are a few tokens each: this was half
  of a long message's time. A match in a window is a match in the message (the patterns test one token at a time,
  on its own attributes), and every match is in some window, so the matches are the same; tests/test_safety.py
  checks them against one Matcher holding every pattern.

The windows are a speed-up (bot/rasa_ext/speedups/README.md): with ``SIGNPOST_SPEEDUPS=0`` every group whose anchor
occurs runs on the whole message, as before.
"""

from __future__ import annotations

import re
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

from spacy.matcher import Matcher
from spacy.tokens import Doc

from bot.safety.patterns import pattern_anchor
from bot.settings import speedups

Match = Tuple[int, int, int]  # (match id, start, end) as spaCy's Matcher gives them, offsets in the message
_REPEAT = re.compile(r"^\{(\d*),?(\d*)\}$")  # "{2}", "{0,3}", "{1,}"


def longest(pattern: Sequence[Dict[str, Any]]) -> Optional[int]:
    """How many tokens a match of ``pattern`` can have at most, or None when there is no bound ("*", "+", "{1,}")."""
    total = 0
    for token in pattern:
        op = token.get("OP")
        if op in (None, "?", "!", "1"):  # "!" matches one token that is not the word
            total += 1
            continue
        found = _REPEAT.match(op) if isinstance(op, str) else None
        if not found:
            return None  # "*", "+" or anything unknown: no window
        most = found.group(2) if "," in op else found.group(1)
        if not most:
            return None  # "{1,}": no upper bound
        total += int(most)
    return total


def around(pattern: Sequence[Dict[str, Any]], anchor: FrozenSet[str]) -> Optional[Tuple[int, int]]:
    """How many tokens a match can have before and after the token of it that matched an anchor word, or None.

    The anchor token may repeat ("{1,3}"), so the anchor word found can be any of its repeats: each side counts the
    other repeats too. Every token that could be the anchor (a must-match token on exactly those words) is tried.
    """
    sizes = [longest([token]) for token in pattern]
    if any(size is None for size in sizes):
        return None
    best: Optional[Tuple[int, int]] = None
    for k, token in enumerate(pattern):
        value, op = token.get("LOWER"), token.get("OP") or ""
        if isinstance(value, dict) and set(value) == {"IN"}:
            words = frozenset(value["IN"])
        elif isinstance(value, str):
            words = frozenset({value})
        else:
            continue
        if words != anchor or set(token) - {"LOWER", "OP"} or op in ("?", "!", "*") or op.startswith("{0"):
            continue  # not this group's anchor word, or it may be absent from a match
        before, after = sum(sizes[:k]) + sizes[k] - 1, sum(sizes[k + 1 :]) + sizes[k] - 1
        best = (before, after) if best is None else (max(best[0], before), max(best[1], after))
    return best


def windows(positions: Sequence[int], reach: Tuple[int, int], length: int) -> List[Tuple[int, int]]:
    """The token ranges that reach (before, after) each anchor position (in increasing order) can hold, overlapping
    ranges joined."""
    spans: List[Tuple[int, int]] = []
    before, after = reach
    for position in positions:  # in increasing order
        start, end = max(0, position - before), min(length, position + after + 1)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


class AnchoredMatchers:
    """Token patterns in groups by anchor word; ``matches(doc, lowers)`` runs the groups the message can match."""

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab
        self.matchers: Dict[Optional[FrozenSet[str]], Matcher] = {}
        # How far a group's matches reach before and after their anchor word, or None (no bound, or no anchor:
        # the whole message).
        self.reach: Dict[Optional[FrozenSet[str]], Optional[Tuple[int, int]]] = {}
        # Each anchor word's groups: a message's words find their groups, rather than every group (245) being
        # asked whether its anchor is in the message.
        self.groups: Dict[str, List[FrozenSet[str]]] = {}
        self.windowed = speedups()

    def add(self, key: str, pattern: List[Dict[str, Any]]) -> None:
        anchor = pattern_anchor(pattern)
        if anchor not in self.matchers:
            self.matchers[anchor] = Matcher(self.vocab, validate=True)
            self.reach[anchor] = (0, 0)
            for word in anchor or ():
                self.groups.setdefault(word, []).append(anchor)
        self.matchers[anchor].add(key, [pattern])
        sides = around(pattern, anchor) if anchor is not None else None
        known = self.reach[anchor]
        self.reach[anchor] = (
            None if sides is None or known is None else (max(known[0], sides[0]), max(known[1], sides[1]))
        )

    def matches(self, doc: Doc, lowers: Sequence[str]) -> List[Match]:
        """Every match of every pattern in ``doc``, whose tokens' lower-case forms are ``lowers``."""
        spots: Dict[Optional[FrozenSet[str]], List[int]] = {None: []} if None in self.matchers else {}
        for i, word in enumerate(lowers):
            for anchor in self.groups.get(word, ()):
                spots.setdefault(anchor, []).append(i)  # no match can lack its anchor: other groups never run
        found: List[Match] = []
        for anchor, positions in spots.items():
            matcher, reach = self.matchers[anchor], self.reach[anchor]
            if not self.windowed or reach is None:
                found.extend(matcher(doc))
                continue
            for start, end in windows(positions, reach, len(lowers)):
                if start == 0 and end == len(lowers):
                    found.extend(matcher(doc))
                else:  # a span's matches are counted from its start
                    found.extend((key, start + a, start + b) for key, a, b in matcher(doc[start:end]))
        return found
