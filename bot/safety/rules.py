"""The safety net: spaCy rules that make sure "I'm in danger" and "I want to die" are never missed.

A young person who writes that they are in danger or thinking of suicide must reach the crisis answer every
time, whatever the statistical model thinks. This module is a pure spaCy layer (``spacy.blank("en")`` plus the
lookup lemmatizer from spacy-lookups-data: no model download, works offline) and a Rasa graph component,
``SafetyNet``, that runs it last in the NLU pipeline (config.yml).

Pattern files (``nlu/safety_patterns.jsonl`` and ``nlu/safety_patterns_languages.jsonl``, paths in
``bot.settings.SAFETY_PATTERN_FILES``)
--------------------------------------------------------------------------------------------------------------
One JSON object per line; blank lines are ignored. The second file holds crisis words in other languages (one row per
language and kind, with ``lang`` and ``source``); both are loaded together. Every object has:

- ``label``: one of
    - ``immediate_danger`` / ``already_hurt`` / ``self_harm`` / ``abuse``: a crisis phrasing. When it matches (and
      is not negated, see below, and does not lie inside an idiom) the message gets that label, whatever the model
      said. ``already_hurt`` is pills or poison already taken, a deep cut, bleeding (999 or A&E first);
      ``self_harm`` keeps "about to" and "thinking about"; ``abuse`` is abuse by someone they know (rape, being
      forced into sexual things, touching, "our secret"), whose intent is ``abuse_disclosure``.
    - ``not_crisis``: an idiom or joke that only looks like a crisis ("this test is gonna kill me", "dying of
      laughter"). A crisis match lying wholly inside one is dropped ("kill myself" inside "killing myself
      laughing"); a crisis match that only overlaps it still fires. A crisis pattern that checks the word after
      it ("die" not followed by "my hair") includes that word in its span, so an idiom meant to cover it ends
      with an optional any-token ``{"OP": "?"}``.
    - ``crisis_cue``: a word that could signal a crisis ("kill", "die", "outside", "scared" ...). Cues never
      decide anything by themselves; they stop the veto described below.
- ``id``: a short name (several lines may share an id if they share the label). It is what the bot records as
  ``{"safety": {"label": ..., "pattern": id}}``, so a decision can be traced to one line of this file.
- exactly one of
    - ``pattern``: a spaCy ``Matcher`` token pattern, a list of token dicts on ``LOWER``, ``LEMMA``,
      ``IS_PUNCT``, ``TEXT`` (``REGEX``) with ``OP`` ("?", "*", "+", "{0,3}" ...).
      Example: ``[{"LEMMA": "want"}, {"LOWER": "to"}, {"LOWER": {"IN": ["die", "dead"]}}]``
    - ``phrase``: a string or a list of strings, matched as whole words, case-insensitively.
- optional ``note``: a comment for people; ignored by the code. Optional ``lang`` (ISO 639-1 code) and ``source``
  (where the words were checked) are for the other languages' rows; also ignored by the code.

Patterns and phrases are matched on the *normalised* text (see ``normalise``), never on the raw message:
curly apostrophes become straight ones; zero-width and control characters go; accents on Latin letters are dropped,
fullwidth letters become plain ones and Cyrillic or Greek look-alike letters inside Latin words become the Latin
letters they copy (``bot.normalise``, so "í ẃáńt́ t́ó d́íé" and "і wаnt tо dіе" read "i want to die", while real
Russian or Ukrainian text keeps its letters); letters repeated three or more
times are squeezed back to a dictionary word ("diiiie" -> "die"), spelt-out letters are joined ("d i e"); contractions are spelt out ("don't" -> "do
not", "im" -> "i am", "he's" -> "he is", "can't"/"cant" -> "can not"); text-speak is written out ("kms" -> "kill
myself", "wanna"/"want 2" -> "want to", "gonna" -> "going to", "unalive" -> "kill myself", "sewer slide" ->
"suicide", "od" -> "overdose", "ngl" -> "not going to lie" ...). So a pattern is written once, for plain
English, and the normaliser ends every text with " ." so ``{"IS_PUNCT": true}`` can mark the end of a message.

Negation: a crisis match is *negated* (and does not fire) when, walking left from its first token, only
"bridge" words (auxiliaries, "going to", "really", "feel", "want to", "plans to" ...) stand between it and
"not" / "never" / "no" ("i'm not in danger", "i don't want to die, i just want to block him", "i would never
kill myself"). The walk starts *before* the match, so patterns that contain a negation themselves ("i don't
want to live anymore", "i'm not safe") still fire.

An idiom explains only its own sentence: a crisis match (or cue) in the next sentence is outside it even when the
idiom's optional words run on ("my mum's car pulled up. i want to die").

Veto: when no crisis pattern fired but the model predicted a crisis concern, the component replaces that
prediction with ``out_of_scope`` only if an idiom or a negated crisis phrase matched *and* every crisis cue in
the message lies inside those spans ("this test is gonna kill me lol"). A cue outside them ("my battery is
dying and he's following me home") keeps the model's crisis prediction: a real crisis is never vetoed.

Whose crisis: when every self-harm match is about someone else (its own words, or the nearest person word to its
left in the same sentence: "my mate says she wants to die"), the verdict says ``someone_else`` and the component
sets the intent ``friend_at_risk``, a self-harm crisis whose answer is about helping a friend. Undecided is the
young person. The same holds for ``already_hurt`` ("my friend took loads of pills" is a friend at risk).

Which crisis, when several fire: danger first (``immediate_danger``, then ``already_hurt``: both lead with 999), then
the young person's own ``self_harm``, then self-harm words about someone else (a friend at risk), then ``abuse``;
within a kind, the first match in the message. Every sentence of a long message is read, so a crisis clause in the
middle of a story fires like a short message.

Unreadable: a message with no crisis match that the bot cannot read (``bot.languages``: mostly non-Latin letters,
or Latin words that are not English) gets the intent ``not_english`` (Childline and 999, in English), unless the
model found a crisis in it.

Speed: patterns are grouped by a word they cannot match without (``pattern_anchor``), and a group is only run on a
message that contains its anchor; the matches are the same as one Matcher holding every pattern (a test checks).
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Text, Tuple, Type, Union

import spacy
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from spacy.matcher import Matcher, PhraseMatcher

from bot.concerns import CRISIS, concern_for
from bot.safety.languages import checkout_words, is_unreadable, vocabulary
from bot.safety.normalise import fold
from bot.settings import ROOT, SAFETY_PATTERN_FILES, SAFETY_PATTERNS

IMMEDIATE_DANGER = "immediate_danger"
ALREADY_HURT = "already_hurt"
SELF_HARM = "self_harm"
ABUSE = "abuse"
NOT_CRISIS = "not_crisis"
CRISIS_CUE = "crisis_cue"
# In priority order (see "Which crisis" in the docstring): 999-first answers, then self-harm, then abuse.
CRISIS_LABELS = (IMMEDIATE_DANGER, ALREADY_HURT, SELF_HARM, ABUSE)
LABELS = frozenset(CRISIS_LABELS + (NOT_CRISIS, CRISIS_CUE))
WHOSE_LABELS = frozenset({ALREADY_HURT, SELF_HARM})  # labels whose words may be about someone else
VETO_LABEL = "out_of_scope"
FRIEND_AT_RISK = "friend_at_risk"  # the intent for self-harm words about someone else (bot/concerns.py: a crisis)
NOT_ENGLISH = "not_english"  # the intent for a message the bot cannot read (bot/languages.py)
INTENT_FOR_LABEL = {ABUSE: "abuse_disclosure"}  # every other crisis label is its own intent

# ---------------------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------------------

_QUOTES = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u201b": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
    }
)
# Zero-width, direction marks and soft hyphens vanish; other control/format characters become spaces.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_REPEATED = re.compile(r"([a-z])\1{2,}")
_SPELLED_OUT = re.compile(r"\b[a-z](?: [a-z]){2,}\b")
_WORD = re.compile(r"[a-z]+")

# Text-speak and spelling, applied in order to lower-cased text. Each entry is (regex, replacement).
_REWRITES: Tuple[Tuple[str, str], ...] = (
    # suicide and self-harm in disguise
    (r"\bsew(?:er|a)\s*-?\s*slide\b", "suicide"),
    (r"\b(?:suicde|sucide|suiside|suicid|suacide|suiscide|suiccide|suecide|sooicide)\b", "suicide"),
    (r"\b(?:sucidal|suisidal|suicdal|suicidle|suicidel|sucicidal|suidcidal|suicidial|suacidal|sucidial)\b", "suicidal"),
    (r"\bsui\b", "suicide"),
    (r"\bself\s*-?\s*harm", "self harm"),
    (r"\bkmsl\b", "killing myself laughing"),
    (r"\bkms\b", "kill myself"),
    (r"\bunaliv\w*\s+(?:my\s*self|me)\b", "kill myself"),
    (r"\b(be|being|been|was|am|is)\s+unalive\b", r"\1 dead"),
    (r"\bunaliv\w*", "kill myself"),
    (r"\bs[u*]\*?[i*]\*?[c*]\*?[i*]\*?de\b", "suicide"),
    (r"\bk[i1!*]\*?ll\b", "kill"),
    (r"\bd[1!*]e\b", "die"),
    (r"\bded\b", "dead"),
    (r"\b(?:my\s+slef|my\s+self|myslef|myslf|mysef|myseld|meself|mesel|myelf)\b", "myself"),
    (r"\b(kill|hurt|harm|cut|end|burn|hang)(?:my\s*self|myself)\b", r"\1 myself"),
    (r"\bkil\b", "kill"),
    (r"\bod(?:'d|ed|'ed)\b", "overdosed"),
    (r"\bod\b", "overdose"),
    (r"\b(?:paras)\b", "paracetamol"),
    (r"\btabs\b", "tablets"),
    (r"\bsh\b", "self harm"),
    # want to / going to
    (r"\b(?:wanna|wana|wnna|wna|wan2|want2|wnt\s*2|wnt\s+to)\b", "want to"),
    (r"\b(?:gonna|gunna|gona|gna|finna)\b", "going to"),
    (r"\b(?:tryna|trynna)\b", "trying to"),
    (r"\bgotta\b", "got to"),
    (r"\bhafta\b", "have to"),
    (r"\b(want|going|need|have|got|trying|try|about|ready|wish|used)\s*2\b", r"\1 to"),
    (
        r"\b2\s+(?=(?:die|live|be|end|kill|go|meet|do|hurt|sleep|wake|see|come|get|stop|cut|talk|tell|send|exist)\b)",
        "to ",
    ),
    # contractions, with and without the apostrophe
    (r"\bcan'?t\b|\bcannot\b|\bcnt\b|\bcarnt\b", "can not"),
    (r"\bwon'?t\b", "will not"),
    (r"\bshan'?t\b", "shall not"),
    (r"\bain'?t\b", "am not"),
    (r"\bdnt\b", "do not"),
    (
        r"\b(do|does|did|is|are|was|were|would|should|could|have|has|had|must|need|might)n'?t\b",
        r"\1 not",
    ),
    (r"\b(\w+)n't\b", r"\1 not"),
    (r"\bi'?m\b", "i am"),
    (r"\bi'?ve\b", "i have"),
    (r"\bi'll\b", "i will"),
    (r"\bi'd\b", "i would"),
    (r"\b(he|she|they|we|you|someone|somebody|it|there|that|who)'ll\b", r"\1 will"),
    (r"\b(he|she|they|we|you|someone|somebody|it|there|that|who)'d\b", r"\1 would"),
    (r"\b(they|you)'?re\b|\b(we)'re\b", r"\1\2 are"),
    (r"\b(they|we|you)'ve\b", r"\1 have"),
    (
        r"\b(he|she|it|that|there|what|who|someone|somebody|everyone|everybody|nobody|noone|this|life)'s\b",
        r"\1 is",
    ),
    (r"\b(he|she|that|there|what)s\b", r"\1 is"),
    # words
    (r"\b(?:noone|no1)\b", "no one"),
    (r"\b(?:every1|evry1|evry1)\b", "everyone"),
    (r"\b(?:some1|sum1|sumone|sum1)\b", "someone"),
    (r"\bany1\b", "anyone"),
    (r"\bppl\b", "people"),
    (r"\bu\b", "you"),
    (r"\bur\b", "your"),
    (r"\br\b", "are"),
    (r"\bn\b|\bnd\b", "and"),
    (r"\brn\b", "right now"),
    (r"\b(?:2nite|2night|tonite|tnite|tonight)\b", "tonight"),
    (r"\b(?:2moro|2morrow|tmrw|tmr|tomoz|tmoz)\b", "tomorrow"),
    (r"\b2day\b", "today"),
    (r"\bb4\b", "before"),
    (r"\b(?:bc|bcos|bcoz|bcuz|cos|coz|cuz)\b", "because"),
    (r"\babt\b", "about"),
    (r"\bwiv\b", "with"),
    (r"\b(?:pls|plz|plss|plez)\b", "please"),
    (r"\b(?:any\s+more|no\s+more|anymor|nemore|anymroe|anymore)\b", "anymore"),
    (r"\b(?:outsid|ouside|outisde|outide|outsde)\b", "outside"),
    (r"\bhse\b", "house"),
    (r"\bidk\b", "i do not know"),
    (r"\bidc\b", "i do not care"),
    (r"\bngl\b", "not going to lie"),
    (r"\btbh\b", "to be honest"),
    (r"\bfr\b", "for real"),
    (r"\bdead\s*ass\b", "seriously"),
    (r"\blyk\b", "like"),
    (r"\bwen\b", "when"),
    (
        r"\b(cutt|follow|com|wait|dy|kill|go|noth|someth|hurt|pick|forc|watch|sitt|stand|look|mak|tak|gett|liv"
        r"|feel|think|harm|tell|say)in'?(?=\s|$|[^\w'])",
        r"\1ing",
    ),
)
_REWRITES_COMPILED = tuple((re.compile(pattern), replacement) for pattern, replacement in _REWRITES)


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


def _squeeze(match: "re.Match[str]") -> str:
    """'diiiie' -> 'die', 'killlll' -> 'kill', 'pleeeease' -> 'please': the first squeeze that is a word."""
    word = match.group(0)
    if re.fullmatch(r"sh+", word):  # "shhh" is not "sh" (self-harm)
        return word
    runs = list(_REPEATED.finditer(word))
    if not runs:
        return word
    options = []
    for keep in itertools.product((2, 1), repeat=min(len(runs), 4)):
        pieces, last = [], 0
        for run, n in zip(runs, keep + (2,) * (len(runs) - len(keep))):
            pieces.append(word[last : run.start()] + run.group(1) * n)
            last = run.end()
        options.append("".join(pieces) + word[last:])
    for option in options:
        if _known(option):
            return option
    return options[0]


def _join_letters(match: "re.Match[str]") -> str:
    """'d i e' -> 'die', 's u i c i d e' -> 'suicide': spelt-out letters that make a word are joined."""
    joined = match.group(0).replace(" ", "")
    return joined if _known(joined) else match.group(0)


def _rewrite(text: str) -> str:
    """Lower-cased, cleaned text with stretched words squeezed and text-speak written out (no end marker)."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _INVISIBLE.sub("", text)
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    text = fold(text).lower()
    text = _WORD.sub(_squeeze, text)
    text = _SPELLED_OUT.sub(_join_letters, text)
    for pattern, replacement in _REWRITES_COMPILED:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def normalise(text: str) -> str:
    """The text the patterns see: see the module docstring. Always ends with ' .' (the end-of-message mark)."""
    return (_rewrite(text or "") + " .").lstrip()


# ---------------------------------------------------------------------------------------------------------
# Negation
# ---------------------------------------------------------------------------------------------------------

NEGATIONS = frozenset({"not", "never", "no", "nt", "n't", "nor"})
# Words that may stand between a negation and the phrase it negates: "i'm NOT (really) in danger", "i do NOT
# (want to) die", "i have NO (plans to) kill myself", "i would NEVER (actually) hurt myself".
BRIDGES = frozenset(
    {
        "am", "is", "are", "was", "were", "be", "been", "being",
        "do", "does", "did", "have", "has", "had",
        "will", "would", "can", "could", "should", "shall", "might", "may", "must",
        "going", "to", "gonna", "really", "actually", "even", "ever", "currently", "seriously", "genuinely",
        "literally", "at", "all", "in", "any", "feel", "feeling", "felt", "think", "thinking", "want", "wanting", "plan", "plans",
        "planning", "intention", "intend", "trying", "try", "about", "so", "that", "like", "longer",
        "scared", "afraid", "worried", "frightened", "way", ",", "-",
    }
)
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
SOMEONE_ELSE_IN_THE_PHRASE = frozenset(
    {
        "herself", "himself", "themselves",
        "friend", "friends", "mate", "mates", "bestie", "bff", "bestfriend", "sister", "brother", "sis", "bro",
        "cousin", "girlfriend", "boyfriend", "gf", "bf", "classmate",
    }
)
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


# ---------------------------------------------------------------------------------------------------------
# Patterns and matching
# ---------------------------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Hit:
    """One pattern match on the normalised text (token offsets)."""

    label: str
    id: str
    start: int
    end: int
    negated: bool = False
    someone_else: bool = False
    reach: int = 0  # where an idiom stops explaining: its end, or its first sentence end (0: its end)

    def contains(self, other: "Hit") -> bool:
        return self.start <= other.start and other.end <= (self.reach or self.end)


@dataclass(frozen=True)
class Verdict:
    """What the rules say about one message.

    ``label``/``pattern``: the crisis label and the id of the pattern that fired, or None.
    ``veto``: when no crisis fired, the id of the idiom or negated phrase that explains every crisis cue in the
    message (so a model's crisis prediction may be overruled), or None.
    ``someone_else``: the self-harm words are all about another person ("my friend says she wants to die").
    ``unreadable``: the bot cannot read the message (``bot.languages``).
    """

    label: Optional[str] = None
    pattern: Optional[str] = None
    veto: Optional[str] = None
    hits: Tuple[Hit, ...] = ()
    someone_else: bool = False
    unreadable: bool = False


class SafetyRules:
    """The pure spaCy layer: load once, then ``check(text)`` as often as needed."""

    def __init__(self, rows: Iterable[PatternRow], words: Optional[FrozenSet[str]] = None) -> None:
        self.nlp = _blank_nlp()
        # Words of the training data count as English for the unreadable check (bot.languages): the model's, or
        # the checkout's when the rules are built without a model.
        self.words = checkout_words() if words is None else words
        self.phrase_matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self.labels: Dict[str, str] = {}
        # A Matcher tries every pattern at every token, which cost a fifth of a whole turn. Patterns are grouped
        # by a word they cannot match without (their anchor), and a group runs only when its anchor is in the text.
        self.matchers: Dict[Optional[FrozenSet[str]], Matcher] = {}
        for row in rows:
            self.labels[row.id] = row.label
            if row.pattern is not None:
                anchor = pattern_anchor(row.pattern)
                if anchor not in self.matchers:
                    self.matchers[anchor] = Matcher(self.nlp.vocab, validate=True)
                self.matchers[anchor].add(row.id, [row.pattern])
            else:
                self.phrase_matcher.add(row.id, [self.nlp.make_doc(_rewrite(phrase)) for phrase in row.phrases])

    @classmethod
    def from_path(cls, path: Union[str, Path] = SAFETY_PATTERNS) -> "SafetyRules":
        return cls(load_patterns(path))

    @classmethod
    def from_paths(
        cls, paths: Iterable[Union[str, Path]] = SAFETY_PATTERN_FILES, words: Optional[FrozenSet[str]] = None
    ) -> "SafetyRules":
        return cls((row for path in paths for row in load_patterns(path)), words)

    def _english(self, word: str) -> bool:
        return _known(word) or word in self.words

    def hits(self, text: str) -> List[Hit]:
        """Every match on the normalised text, crisis matches marked when negated."""
        return self._scan(text)[0]

    def _scan(self, text: str) -> Tuple[List[Hit], bool]:
        """The hits, and whether the message is unreadable (bot.languages)."""
        # spaCy keeps every new word in its string store for the life of the process; a memory zone forgets the
        # words of this message when it closes, so nothing typed stays in memory after the turn.
        with self.nlp.memory_zone():
            doc = self.nlp(normalise(text))
            words = {token.lower_ for token in doc}
            unreadable = is_unreadable((token.lower_ for token in doc), self._english)
            matches = list(self.phrase_matcher(doc))
            for anchor, matcher in self.matchers.items():
                if anchor is None or not anchor.isdisjoint(words):
                    matches.extend(matcher(doc))
            found = set()
            for match_id, start, end in matches:
                key = self.nlp.vocab.strings[match_id]
                label = self.labels[key]
                negated = label in CRISIS_LABELS and is_negated(doc, start)
                someone_else = label in WHOSE_LABELS and is_about_someone_else(doc, start, end)
                reach = _sentence_end(doc, start, end) if label == NOT_CRISIS else 0
                found.add(Hit(label, key, start, end, negated, someone_else, reach))
        return sorted(found, key=lambda h: (h.start, h.end, h.id)), unreadable

    def check(self, text: str) -> Verdict:
        hits, unreadable = self._scan(text)
        idioms = [h for h in hits if h.label == NOT_CRISIS]
        crisis = [h for h in hits if h.label in CRISIS_LABELS]
        fired = [h for h in crisis if not h.negated and not any(i.contains(h) for i in idioms)]
        if fired:
            first = min(fired, key=lambda h: (_priority(h), h.start, h.end, h.id))
            return Verdict(label=first.label, pattern=first.id, hits=tuple(hits), someone_else=first.someone_else)
        # Nothing fired: may an idiom or a negation overrule a model that says "crisis"?
        negated = [h for h in crisis if h.negated]
        explained = idioms + negated
        if not explained:
            return Verdict(hits=tuple(hits), unreadable=unreadable)
        cues = [h for h in hits if h.label == CRISIS_CUE]
        unexplained = [c for c in cues if not any(e.contains(c) for e in explained)]
        if unexplained:
            return Verdict(hits=tuple(hits), unreadable=unreadable)
        first = min(explained, key=lambda h: (h.start, h.id))
        veto = f"{first.id}" if first.label == NOT_CRISIS else f"negated:{first.id}"
        return Verdict(veto=veto, hits=tuple(hits), unreadable=unreadable)


def _priority(hit: Hit) -> float:
    """Which crisis answers a message with several: the order of CRISIS_LABELS, with words about someone else's
    self-harm (a friend at risk) after the young person's own self-harm and before abuse."""
    return CRISIS_LABELS.index(SELF_HARM) + 0.5 if hit.someone_else else CRISIS_LABELS.index(hit.label)


def _sentence_end(doc: Sequence, start: int, end: int) -> int:
    """An idiom explains only its own sentence: its span up to and including its first sentence end."""
    for i in range(start + 1, end):
        if doc[i].lower_ in _SENTENCE_END:
            return i + 1
    return end


@lru_cache(maxsize=4)
def rules_for(paths: Tuple[Union[str, Path], ...] = SAFETY_PATTERN_FILES) -> SafetyRules:
    """Shared rules for pattern files (loaded once per process)."""
    return SafetyRules.from_paths(paths)


def check(text: str) -> Verdict:
    """The verdict of the project's own pattern files on one message."""
    return rules_for(SAFETY_PATTERN_FILES).check(text)


# ---------------------------------------------------------------------------------------------------------
# The Rasa graph component
# ---------------------------------------------------------------------------------------------------------

SAFETY_KEY = "safety"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SafetyNet(GraphComponent, IntentClassifier):
    """Runs the safety rules after the model; a crisis rule overrides the model's intent.

    Config: ``patterns`` (a path to a JSONL file, or a list of them; default ``bot.settings.SAFETY_PATTERN_FILES``,
    the main file and the other languages' file; relative paths are taken from the project root) and ``veto`` (whether an idiom or negation may overrule a crisis prediction of
    the model when no crisis rule fired; measured on the held-out set it removes false alarms and no crisis).
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
    def get_default_config() -> Dict[Text, Any]:
        # No path here: a default stored in the trained model would pin this machine's path.
        return {"patterns": None, "veto": True}

    def __init__(
        self, config: Dict[Text, Any], rules: SafetyRules, model_storage: ModelStorage = None, resource: Resource = None
    ) -> None:
        self.component_config = config
        self.rules = rules
        self._model_storage = model_storage
        self._resource = resource

    @staticmethod
    def _rules(config: Dict[Text, Any], words: Optional[FrozenSet[str]]) -> SafetyRules:
        paths = config.get("patterns") or SAFETY_PATTERN_FILES
        paths = [paths] if isinstance(paths, (str, Path)) else paths
        return SafetyRules.from_paths((path if Path(path).is_absolute() else ROOT / path for path in paths), words)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
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
        config: Dict[Text, Any],
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
        the bot cannot read gets ``not_english`` unless the model found a crisis in it."""
        if verdict.label:
            intent = FRIEND_AT_RISK if verdict.someone_else else INTENT_FOR_LABEL.get(verdict.label, verdict.label)
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
