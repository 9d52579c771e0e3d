"""The safety rules over one message: ``SafetyRules(rows).check(text)`` gives a ``Verdict`` (docs/safety.md).

Which patterns fired, which are negated ("i'm not in danger"), which lie inside an idiom, whose crisis it is (the
young person's or a friend's, for abuse from the matched words alone), which crisis answers when several fire, and
when an idiom may veto the model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple, Union

from spacy.matcher import PhraseMatcher

from bot.safety import patterns as P
from bot.safety.anchored import AnchoredMatchers
from bot.safety.languages import checkout_words, is_unreadable
from bot.safety.nlp import _blank_nlp, _known, keep_words
from bot.safety.normalise import _rewrite, normalise
from bot.settings import SAFETY_PATTERN_FILES, SAFETY_PATTERNS, speedups

NEGATIONS = frozenset({"not", "never", "no", "nt", "n't", "nor"})
# Words that may stand between a negation and the phrase it negates: "i'm NOT (really) in danger", "i do NOT
# (want to) die", "i have NO (plans to) kill myself", "i would NEVER (actually) hurt myself".
# fmt: off
BRIDGES = frozenset(
    {
        "am", "is", "are", "was", "were", "be", "been", "being",
        "do", "does", "did", "have", "has", "had",
        "will", "would", "can", "could", "should", "shall", "might", "may", "must",
        "going", "to", "gonna", "really", "actually", "even", "ever", "currently", "seriously", "genuinely",
        "literally", "at", "all", "in", "any", "feel", "feeling", "felt", "think", "thinking", "want", "wanting",
        "plan", "plans", "planning", "intention", "intend", "trying", "try", "about", "so", "that", "like", "longer",
        "scared", "afraid", "worried", "frightened", "way", ",", "-",
    }
)
# fmt: on
# "i" may be crossed only after a verb of thinking or saying: "i do not think I'm in danger", "not like i ...".
_I_AFTER = frozenset({"think", "believe", "mean", "say", "saying", "guess", "suppose", "reckon", "feel", "like"})
_MAX_WALK = 8


def is_negated(doc: Sequence, start: int) -> bool:
    """Whether the phrase starting at token ``start`` is negated by a 'not'/'never'/'no' just before it."""
    i = start - 1
    steps = 0
    while i >= 0 and steps < _MAX_WALK:
        word = doc[i].lower_
        if word in NEGATIONS:
            return True
        if word == "i":
            if i == 0 or doc[i - 1].lower_ not in _I_AFTER:
                return False
        elif word not in BRIDGES and word not in _I_AFTER:
            return False
        i -= 1
        steps += 1
    return False


# Whose self-harm: the phrase's own words first ("cutting herself", "my friend has cuts", "kill myself"), then the
# nearest person word to its left in the same sentence ("she says she wants to die"). Inside the phrase "her" or
# "his" only says whose pills ("i took all her pills"), so there only a person or a reflexive counts. Anything
# undecided is about the young person.
ABOUT_THE_USER = frozenset({"i", "me", "my", "myself", "mine"})
# fmt: off
SOMEONE_ELSE_IN_THE_PHRASE = frozenset(
    {
        "herself", "himself", "themselves",
        "friend", "friends", "mate", "mates", "bestie", "bff", "bestfriend", "sister", "brother", "sis", "bro",
        "cousin", "girlfriend", "boyfriend", "gf", "bf", "classmate",
    }
)
# fmt: on
ABOUT_SOMEONE_ELSE = SOMEONE_ELSE_IN_THE_PHRASE | {"she", "he", "they", "her", "him", "them", "their", "his"}
_SENTENCE_END = frozenset({".", "!", "?", ";"})


def is_about_someone_else(doc: Sequence, start: int, end: int) -> bool:
    """Whether the phrase at tokens [start, end) is about another person, not the young person writing."""
    words = [token.lower_ for token in doc[start:end]]
    if any(word in ABOUT_THE_USER for word in words):
        return False
    if any(word in SOMEONE_ELSE_IN_THE_PHRASE for word in words):
        return True
    for i in range(start - 1, max(start - 1 - _MAX_WALK, -1), -1):
        word = doc[i].lower_
        if word in _SENTENCE_END or word in ABOUT_THE_USER:
            return False
        if word in ABOUT_SOMEONE_ELSE:
            return True
    return False


# Whose abuse: only the words the pattern matched decide, never the words around them, because a story about the
# young person's own abuse often mentions a friend ("my friend says i should tell someone but my uncle touches me").
# A victim is the object of the abuse words ("touches me", "hits her"), or a friend or relative named with "my"
# ("my friend was raped"); "my uncle" or "a family friend" is who does it, so "my" alone, or a friend word as the
# subject of a pattern that names who does it, says nothing.
ABUSED_IS_THE_USER = frozenset({"i", "me", "myself", "us"})
ABUSED_IS_SOMEONE_ELSE = frozenset({"her", "him", "them", "herself", "himself", "themselves"})
# "she was raped", "he got abused": a person word first, then a passive verb.
_PASSIVE = frozenset({"was", "got", "gets", "getting", "is", "been", "being", "has", "had", "were", "are"})
_BEFORE_A_FRIEND = frozenset({"best", "little", "big", "older", "younger", "girl", "boy", "step", "close"})
# A friend word with one of these after it is whose someone is ("my friend's uncle"), not the one abused.
# fmt: off
_OWNER_OF = frozenset(
    {
        "'s", "dad", "dads", "mum", "mums", "mom", "uncle", "stepdad", "step", "brother", "sister", "cousin",
        "boyfriend", "girlfriend", "mate", "parents", "family", "grandad", "nan", "aunt", "auntie", "coach", "teacher",
        "house",
    }
)
# fmt: on


def whose_abuse(doc: Sequence, start: int, end: int) -> Optional[bool]:
    """From an abuse match's own words: True if someone else is abused, False if the young person, None if the words
    do not say."""
    words = [token.lower_ for token in doc[start:end]]
    if any(word in ABUSED_IS_THE_USER for word in words):
        return False
    if any(word in ABUSED_IS_SOMEONE_ELSE for word in words):
        return True
    if len(words) > 1 and words[0] in {"she", "he", "they"} and words[1] in _PASSIVE:
        return True
    for i, word in enumerate(words):
        if word != "my":
            continue
        j = i + 1
        while j < len(words) and words[j] in _BEFORE_A_FRIEND:
            j += 1
        if j + 1 < len(words) and words[j] in SOMEONE_ELSE_IN_THE_PHRASE and words[j + 1] not in _OWNER_OF:
            return True
    return None


@dataclass(frozen=True)
class Hit:
    """One pattern match on the normalised text (token offsets)."""

    label: str
    id: str
    start: int
    end: int
    negated: bool = False
    someone_else: bool = False
    undecided: bool = False  # an abuse match whose own words do not say whose abuse it is (``whose_abuse``)
    reach: int = 0  # where an idiom stops explaining: its end, or its first sentence end (0: its end)

    def contains(self, other: "Hit") -> bool:
        return self.start <= other.start and other.end <= (self.reach or self.end)


@dataclass(frozen=True)
class Verdict:
    """What the rules say about one message.

    ``label``/``pattern``: the crisis label and the id of the pattern that fired, or None.
    ``veto``: when no crisis fired, the id of the idiom or negated phrase that explains every crisis cue in the
    message (so a model's crisis prediction may be overruled), or None.
    ``someone_else``: the self-harm words are all about another person ("my friend says she wants to die"), or,
    for abuse, the abuse words say another person is abused ("her stepdad touches her").
    ``unreadable``: the bot cannot read the message (``bot.safety.languages``).
    """

    label: Optional[str] = None
    pattern: Optional[str] = None
    veto: Optional[str] = None
    hits: Tuple[Hit, ...] = ()
    someone_else: bool = False
    unreadable: bool = False


class SafetyRules:
    """The pure spaCy layer: load once, then ``check(text)`` as often as needed."""

    def __init__(self, rows: Iterable[P.PatternRow], words: Optional[FrozenSet[str]] = None) -> None:
        self.nlp = _blank_nlp()
        # Words of the training data count as English for the unreadable check (bot.safety.languages): the model's, or
        # the checkout's when the rules are built without a model.
        self.words = checkout_words() if words is None else words
        if speedups():
            keep_words(self.words | self.nlp.Defaults.stop_words)
        self.phrase_matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self.labels: Dict[str, str] = {}
        # A Matcher tries every pattern at every token, which cost a fifth of a whole turn: the patterns run in
        # groups by anchor word, each only near its anchor (bot/safety/anchored.py).
        self.matchers = AnchoredMatchers(self.nlp.vocab)
        for row in rows:
            self.labels[row.id] = row.label
            if row.pattern is not None:
                self.matchers.add(row.id, row.pattern)
            else:
                self.phrase_matcher.add(row.id, [self.nlp.make_doc(_rewrite(phrase)) for phrase in row.phrases])

    @classmethod
    def from_path(cls, path: Union[str, Path] = SAFETY_PATTERNS) -> "SafetyRules":
        return cls(P.load_patterns(path))

    @classmethod
    def from_paths(
        cls, paths: Iterable[Union[str, Path]] = SAFETY_PATTERN_FILES, words: Optional[FrozenSet[str]] = None
    ) -> "SafetyRules":
        return cls((row for path in paths for row in P.load_patterns(path)), words)

    def _english(self, word: str) -> bool:
        return _known(word) or word in self.words

    def hits(self, text: str) -> List[Hit]:
        """Every match on the normalised text, crisis matches marked when negated."""
        return self._scan(text)[0]

    def _scan(self, text: str) -> Tuple[List[Hit], bool]:
        """The hits, and whether the message is unreadable (bot.safety.languages)."""
        # spaCy keeps every new word in its string store for the life of the process; a memory zone forgets the
        # words of this message when it closes, so nothing typed stays in memory after the turn.
        with self.nlp.memory_zone():
            doc = self.nlp(normalise(text))
            lowers = [token.lower_ for token in doc]
            unreadable = is_unreadable(lowers, self._english)
            matches = list(self.phrase_matcher(doc)) + self.matchers.matches(doc, lowers)
            found = set()
            for match_id, start, end in matches:
                key = self.nlp.vocab.strings[match_id]
                label = self.labels[key]
                negated = label in P.CRISIS_LABELS and is_negated(doc, start)
                if label == P.ABUSE:
                    whose = whose_abuse(doc, start, end)
                    someone_else, undecided = bool(whose), whose is None
                else:
                    someone_else = label in P.WHOSE_LABELS and is_about_someone_else(doc, start, end)
                    undecided = False
                reach = _sentence_end(doc, start, end) if label == P.NOT_CRISIS else 0
                found.add(Hit(label, key, start, end, negated, someone_else, undecided, reach))
        return sorted(found, key=lambda h: (h.start, h.end, h.id)), unreadable

    def check(self, text: str) -> Verdict:
        hits, unreadable = self._scan(text)
        idioms = [h for h in hits if h.label == P.NOT_CRISIS]
        crisis = [h for h in hits if h.label in P.CRISIS_LABELS]
        fired = [h for h in crisis if not h.negated and not any(i.contains(h) for i in idioms)]
        if fired:
            fired = _whose_abuse(fired)
            first = min(fired, key=lambda h: (_priority(h), h.start, h.end, h.id))
            return Verdict(label=first.label, pattern=first.id, hits=tuple(hits), someone_else=first.someone_else)
        # Nothing fired: may an idiom or a negation overrule a model that says "crisis"?
        negated = [h for h in crisis if h.negated]
        explained = idioms + negated
        if not explained:
            return Verdict(hits=tuple(hits), unreadable=unreadable)
        cues = [h for h in hits if h.label == P.CRISIS_CUE]
        unexplained = [c for c in cues if not any(e.contains(c) for e in explained)]
        if unexplained:
            return Verdict(hits=tuple(hits), unreadable=unreadable)
        first = min(explained, key=lambda h: (h.start, h.id))
        veto = f"{first.id}" if first.label == P.NOT_CRISIS else f"negated:{first.id}"
        return Verdict(veto=veto, hits=tuple(hits), unreadable=unreadable)


def _whose_abuse(fired: List[Hit]) -> List[Hit]:
    """Abuse is someone else's when a match's own words say so and no match's words name the young person; matches
    that do not say ("sexually abused") go with the others. Otherwise it is the young person's (undecided too)."""
    abuse = [h for h in fired if h.label == P.ABUSE]
    other = any(h.someone_else for h in abuse) and all(h.someone_else or h.undecided for h in abuse)
    return [replace(h, someone_else=other) if h.label == P.ABUSE else h for h in fired]


def _priority(hit: Hit) -> float:
    """Which crisis answers a message with several: the order of CRISIS_LABELS, with words about someone else's
    self-harm (a friend at risk) after the young person's own self-harm and before abuse, and a friend's abuse
    last."""
    if not hit.someone_else:
        return P.CRISIS_LABELS.index(hit.label)
    return P.CRISIS_LABELS.index(P.ABUSE if hit.label == P.ABUSE else P.SELF_HARM) + 0.5


def _sentence_end(doc: Sequence, start: int, end: int) -> int:
    """An idiom explains only its own sentence: its span up to and including its first sentence end."""
    for i in range(start + 1, end):
        if doc[i].lower_ in _SENTENCE_END:
            return i + 1
    return end
