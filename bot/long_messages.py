"""Long messages: read a long, narrative message sentence by sentence as well as whole, and combine the readings.

Real young people's messages are 30 to 120 words: a story told in order, context about school or family first,
the thing that matters (a threat, abuse, a crisis) in one clause in the middle, thanks and "what should I do?" at
the end. Read whole, the classifier hears mostly the context. So a long message is read twice over, in one batch
through the same NLU graph (model, then the safety net, on each piece):

- the whole message, and
- each of its sentences (``split_sentences``: full stops, ?, !, new lines, and for young people's text without
  punctuation, the words that start a new clause in a story: "and then", "but", "now", "so", "because" ...).

``combine`` then picks what the bot answers, by a fixed order of seriousness (``SERIOUSNESS``):

1. a crisis, abuse included (``immediate_danger``, ``self_harm``, ``friend_at_risk``, ``abuse_disclosure``,
   ``friend_abused``): the safety net's crisis from the whole message or from ANY sentence always wins, and is
   never dropped;
2. threats: ``sextortion``;
3. an image shared: ``image_shared``;
4. the other specific concerns (asked for nudes, unknown contact, sent or received a nude, a friend, and the
   follow-up questions ``ask_*``);
5. the general ones last: how to block or report, privacy, talking to someone, greetings, out of scope.

The pooled reading answers (whole message and sentences), with one correction by seriousness: a sentence read
with confidence (``SERIOUS_SENTENCE_CONFIDENCE``) as a more serious specific concern is answered first (the threat
at the end of a story of being asked; grooming in a letter read whole as a general question).
A sentence's reading is offered only when the model is confident of it (``SENTENCE_CONFIDENCE``) and it is a specific
concern: "Hi Sam", "please reply" or "I don't know what to do" never outvote the story. The model's crisis guess
on one sentence alone (no safety rule fired) needs more confidence still (``SENTENCE_CRISIS_CONFIDENCE``), as a
crisis answer to an ordinary message is a false alarm, and never counts when the safety net vetoed a crisis on the
whole message (an idiom or a negation explained every crisis word in it).

When two different concerns are found, the second most serious is returned as ``also``: the bot answers the first
and offers the second as a button (bot/engine/engine.py).

Who reads what: the whole message goes through the full NLU graph, safety net included. The safety net's patterns
match anywhere in the text, so it reads every sentence of it, and its crisis (from any sentence) is the whole
message's reading, which nothing here can outrank. The sentences go through the classifier alone (the same graph up
to the classifier, in one batch), which keeps a 100-word message within the time budget.

Everything here is pure (no Rasa): the engine's hook (``Engine._parse``) runs the graph and hands the readings in.
"""

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.concerns import CRISIS, concern_for

# A message is read sentence by sentence from this many words on (shorter ones are read whole, as before).
MIN_WORDS = 12
# A piece shorter than this (in words) is joined to the one before it: "thanks" or "idk" alone says nothing.
MIN_PIECE_WORDS = 3
# At most this many pieces are read (a very long message's later pieces are joined), so time stays bounded.
MAX_PIECES = 12
# A sentence's reading counts only at this confidence or above ...
SENTENCE_CONFIDENCE = 0.5
# ... and a crisis the model alone guessed for one sentence only at this one.
SENTENCE_CRISIS_CONFIDENCE = 0.8
# In the pooled reading the whole message counts as this many sentences (measured: 1, 2, 3 and 5; 3 was best).
WHOLE_WEIGHT = 3.0
# Below this pooled confidence the whole message's own reading stands (the fallback menu's threshold, config.yml).
FALLBACK_CONFIDENCE = 0.25
# A second concern is offered (``also``) from a sentence read at this confidence, or from the whole message at
# SENTENCE_CONFIDENCE.
ALSO_CONFIDENCE = 0.7
# A sentence read at this confidence as a concern more serious than the pooled answer (a threat, a picture spread,
# or any specific concern against a general answer) is answered first, the pooled one offered (``serious_sentence``).
# None: off. Measured on the real and written sets (benchmarks/README.md): 0.5 let misread sentences take over.
SERIOUS_SENTENCE_CONFIDENCE: Optional[float] = 0.8
# ... and a threat (sextortion) at this lower one: the threat is the one clause that matters most in a story of being
# asked or of sending, and one sentence of it is rarely read above 0.8. Measured 0.5, 0.6 and 0.65 (the same on every
# set): the real dev set +2 rows, safety +1, the written sets unchanged.
THREAT_SENTENCE_CONFIDENCE = 0.6

# Concerns in order of seriousness, most serious first. An intent ranks as its concern (bot/concerns.py: the
# follow-up questions ask_* as the concern they come from); abuse_disclosure, friend_abused and friend_at_risk
# count as crises.
SERIOUSNESS: Tuple[Tuple[str, ...], ...] = (
    ("immediate_danger", "self_harm"),
    ("sextortion",),
    ("image_shared",),
    ("asked_for_nudes", "unknown_contact", "sent_nude_worried", "received_nude", "friend_worried"),
    ("block_report_help", "privacy_question", "talk_to_someone"),
    ("greet", "out_of_scope"),
)
_RANK = {concern: rank for rank, group in enumerate(SERIOUSNESS) for concern in group}
SPECIFIC_RANK = 3  # where an intent of no known concern would rank
GENERAL_RANK = 4  # from this rank on, a concern is general: a sentence's reading of it never outvotes the whole
FALLBACK_RANK = len(SERIOUSNESS)  # nlu_fallback: the model was unsure


def concern_of(intent: str) -> str:
    """The concern an intent counts as, abuse_disclosure included (a crisis, whatever bot/concerns.py says)."""
    return "immediate_danger" if intent == "abuse_disclosure" else concern_for(intent)


def seriousness(intent: str) -> int:
    """0 for a crisis, higher for less serious intents (see SERIOUSNESS)."""
    if intent == "nlu_fallback":
        return FALLBACK_RANK
    return _RANK.get(concern_of(intent), SPECIFIC_RANK)


# ---------------------------------------------------------------------------------------------------------
# Splitting
# ---------------------------------------------------------------------------------------------------------

# Ends of sentences: . ! ? … (repeated or not) before a space or the end, and new lines; emoji are kept as words.
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])\s+|(?<=[.!?\u2026][\"'\u201d)\]])\s+|\s*\n+\s*")
# Where a story without full stops starts a new clause. Only long pieces are cut here (CLAUSE_MIN_WORDS).
_CLAUSE_START = re.compile(
    r"\s*,?\s+(?=(?:and then|and now|but then|but now|now|then|so now|and after that|after that|since then|"
    r"but he|but she|but they|because|cos|coz|cuz|also|plus|btw|what should|what do i|idk what|"
    r"i don't know what|i dont know what|i'm scared|im scared|i am scared)\b)",
    re.IGNORECASE,
)
CLAUSE_MIN_WORDS = 20
_WORD = re.compile(r"\w+")


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def split_sentences(text: str) -> List[str]:
    """The pieces of a message to read one by one: its sentences, long unpunctuated runs cut at new clauses.

    Pieces under MIN_PIECE_WORDS join the piece before; at most MAX_PIECES pieces (the rest joins the last).
    """
    pieces: List[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        sentence = sentence.strip(" ,;")
        if not sentence:
            continue
        if word_count(sentence) >= CLAUSE_MIN_WORDS:
            pieces.extend(p.strip(" ,;") for p in _CLAUSE_START.split(sentence) if p.strip(" ,;"))
        else:
            pieces.append(sentence)
    merged: List[str] = []
    for piece in pieces:
        if merged and word_count(piece) < MIN_PIECE_WORDS:
            merged[-1] = f"{merged[-1]} {piece}"
        elif not merged or word_count(merged[-1]) >= MIN_PIECE_WORDS:
            merged.append(piece)
        else:
            merged[-1] = f"{merged[-1]} {piece}"
    if len(merged) > MAX_PIECES:
        merged = merged[: MAX_PIECES - 1] + [" ".join(merged[MAX_PIECES - 1 :])]
    return merged


def is_long(text: str) -> bool:
    """Whether a message is read sentence by sentence too."""
    return word_count(text) >= MIN_WORDS


# ---------------------------------------------------------------------------------------------------------
# Combining
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What the NLU made of one piece (or of the whole message)."""

    intent: str
    confidence: float
    safety: bool = False  # the safety net decided this intent (a crisis rule fired, or its veto)
    ranking: Tuple[Tuple[str, float], ...] = ()  # the classifier's (intent, probability), best first

    @property
    def crisis(self) -> bool:
        return concern_of(self.intent) in CRISIS


@dataclass(frozen=True)
class Choice:
    """Which reading the bot answers (``index``: -1 the whole message, else the sentence) and the second concern."""

    index: int
    intent: str
    also: Optional[str] = None
    confidence: Optional[float] = field(default=None, compare=False)  # the pooled confidence of the answer


def reading_of(parse: Mapping[str, Any]) -> Reading:
    """The Reading of one Rasa parse result."""
    intent = parse.get("intent") or {}
    name = intent.get("name") or "nlu_fallback"
    confidence = float(intent.get("confidence") or 0.0)
    safety = bool(parse.get("safety"))
    ranking = tuple(
        (r["name"], float(r.get("confidence") or 0.0))
        for r in parse.get("intent_ranking") or []
        if r.get("name") and r["name"] != "nlu_fallback"
    )
    return Reading(name, confidence, safety, ranking or ((name, confidence),))


def _counts(reading: Reading, whole: Reading) -> bool:
    """Whether a sentence's reading may outvote the whole message's."""
    if reading.safety:
        return reading.crisis  # a crisis rule fired on it (a veto on a sentence decides nothing)
    if seriousness(reading.intent) >= GENERAL_RANK:
        return False
    if reading.crisis:
        # The model's crisis guess for one sentence: only when sure, and never against the safety net's veto on
        # the whole message (an idiom or a negation explained every crisis word in it: "not that i'd kill myself").
        vetoed = whole.safety and not whole.crisis
        return not vetoed and reading.confidence >= SENTENCE_CRISIS_CONFIDENCE
    return reading.confidence >= SENTENCE_CONFIDENCE


def pooled(whole: Reading, sentences: Sequence[Reading]) -> Dict[str, float]:
    """Each intent's probability averaged over the whole message (weighted WHOLE_WEIGHT) and its sentences.

    When the safety net vetoed a crisis on the whole message, the sentences' crisis intents are left out.
    """
    vetoed = whole.safety and not whole.crisis
    totals: Dict[str, float] = {}
    for reading, weight in [(whole, WHOLE_WEIGHT)] + [(s, 1.0) for s in sentences]:
        for intent, probability in reading.ranking:
            if vetoed and concern_of(intent) in CRISIS:
                continue
            totals[intent] = totals.get(intent, 0.0) + weight * probability
    count = WHOLE_WEIGHT + len(sentences)
    return {intent: total / count for intent, total in totals.items()}


def combine(whole: Reading, sentences: Sequence[Reading]) -> Choice:
    """The intent to answer and the second concern (see the module's docstring).

    1. A crisis the safety net found in the whole message (so in any of its sentences), or in a sentence read by
       itself, is the answer, always.
    2. Otherwise the concern with the most pooled probability (``pooled``), answered with its most probable
       intent; below FALLBACK_CONFIDENCE the whole message's own reading stands (the menu, when unsure).
    3. A sentence confidently read as a more serious concern than that is answered instead (``serious_sentence``).
    4. ``also``: the most serious other concern read with confidence, by SERIOUSNESS.
    """
    for index, reading in [(-1, whole)] + list(enumerate(sentences)):
        if reading.safety and reading.crisis:
            return Choice(index, reading.intent, _also(reading, whole, sentences))
    shares = pooled(whole, sentences)
    by_concern: Dict[str, float] = {}
    for intent, share in shares.items():
        by_concern[concern_of(intent)] = by_concern.get(concern_of(intent), 0.0) + share
    if not by_concern or max(by_concern.values()) < FALLBACK_CONFIDENCE:
        return Choice(-1, whole.intent, None)
    concern = max(by_concern, key=lambda c: (by_concern[c], -seriousness(c)))
    serious = serious_sentence(concern, sentences)
    if serious is not None:
        reading = sentences[serious]
        return Choice(serious, reading.intent, _also(reading, whole, sentences), round(reading.confidence, 4))
    intent = max((i for i in shares if concern_of(i) == concern), key=lambda i: shares[i])
    if intent == whole.intent:
        index = -1
    else:
        tops = [(r.confidence, i) for i, r in enumerate(sentences) if r.intent == intent]
        index = max(tops)[1] if tops else -2  # -2: no single reading had it first; the pooled one is answered
    chosen = Reading(intent, round(by_concern[concern], 4))
    return Choice(index, intent, _also(chosen, whole, sentences), round(by_concern[concern], 4))


def serious_sentence(concern: str, sentences: Sequence[Reading]) -> Optional[int]:
    """The sentence to answer instead of the pooled ``concern``: the most serious specific, non-crisis concern read
    with SERIOUS_SENTENCE_CONFIDENCE (a threat: THREAT_SENTENCE_CONFIDENCE) that ranks above it ("now she says
    she'll post it unless I pay" at the end of a story of being asked), or None. A crisis answer is never replaced;
    the model's crisis guesses stay in the pool."""
    if SERIOUS_SENTENCE_CONFIDENCE is None or concern in CRISIS:
        return None
    rank = min(seriousness(concern), GENERAL_RANK)
    found = [
        (seriousness(r.intent), -r.confidence, i)
        for i, r in enumerate(sentences)
        if not r.safety and not r.crisis and seriousness(r.intent) < rank and r.confidence >= _serious_bar(r.intent)
    ]
    return min(found)[2] if found else None


def _serious_bar(intent: str) -> float:
    """The confidence a sentence's reading needs to be answered first (``serious_sentence``)."""
    if concern_of(intent) == "sextortion":
        return THREAT_SENTENCE_CONFIDENCE
    return SERIOUS_SENTENCE_CONFIDENCE or 1.0


def _also(first: Reading, whole: Reading, sentences: Sequence[Reading]) -> Optional[str]:
    """The most serious concern other than the answer's, from the confident readings (SERIOUSNESS, then
    confidence; a tie goes to the whole message)."""
    candidates = [(-1, whole)] + [(i, r) for i, r in enumerate(sentences) if _counts(r, whole)]

    def key(item: Tuple[int, Reading]) -> Tuple[int, int, int, float]:
        index, reading = item
        return (seriousness(reading.intent), 0 if reading.safety else 1, 0 if index < 0 else 1, -reading.confidence)

    for index, other in sorted(candidates, key=key):
        sure = other.safety or other.confidence >= (ALSO_CONFIDENCE if index >= 0 else SENTENCE_CONFIDENCE)
        if sure and seriousness(other.intent) < GENERAL_RANK and concern_of(other.intent) != concern_of(first.intent):
            if not (other.crisis and first.crisis):
                return concern_of(other.intent)
    return None


def combined_parse(whole: Dict[str, Any], pieces: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """The whole message's parse with the intent the combiner chose, and a note ``long_message`` of how.

    The entities (apps) stay those of the whole message. The note holds no text: only counts and intent names.
    """
    choice = combine(reading_of(whole), [reading_of(p) for p in pieces])
    parse = dict(whole)
    if choice.intent != (whole.get("intent") or {}).get("name"):
        intent = {"name": choice.intent, "confidence": choice.confidence}
        ranking = [r for r in whole.get("intent_ranking") or [] if r.get("name") != choice.intent]
        parse["intent"] = intent
        parse["intent_ranking"] = [intent] + ranking
        parse.pop("safety", None)  # a veto of the safety net on the whole message no longer decides it
    parse["long_message"] = {"pieces": len(pieces), "chosen": choice.index, "also": choice.also}
    return parse
