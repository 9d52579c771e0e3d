"""The safety net's speed-ups change no verdict: anchor windows (bot/safety/anchored.py), the vocabulary kept
(bot/safety/nlp.py) and the shorter unreadable check (bot/safety/languages.py), on every message we have."""

import json
import random
import unicodedata
from pathlib import Path

import pytest
import spacy
import yaml

from bot.safety import SafetyRules, load_patterns, normalise
from bot.safety.anchored import around, longest, windows
from bot.safety.languages import _WORD, MAX_ENGLISH_SHARE, is_unreadable
from bot.safety.nlp import _known
from bot.settings import NLU_DIR, SAFETY_PATTERN_FILES, speedups

DATA = Path(__file__).resolve().parent / "data"
needs_speedups = pytest.mark.skipif(not speedups(), reason="SIGNPOST_SPEEDUPS=0: no speed-up to check")


def _texts():
    """Every evaluation line, every training example, the benchmark's 100-word messages, and long messages made
    of eight random ones each (so anchors sit anywhere in a long message, and windows join)."""
    from benchmarks.conversations import LONG_MESSAGES

    lines = [line for path in sorted(DATA.glob("*.jsonl")) for line in path.read_text(encoding="utf-8").splitlines()]
    texts = [json.loads(line)["text"] for line in lines if line.strip()]
    for path in sorted(NLU_DIR.rglob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            texts += [line.strip()[2:] for line in str(block.get("examples") or "").splitlines() if line.strip()]
    rng = random.Random(12)
    return texts + list(LONG_MESSAGES) + [" ".join(rng.sample(texts, 8)) for _ in range(300)]


@pytest.fixture(scope="module")
def texts():
    return _texts()


@needs_speedups
def test_windows_find_every_match_the_whole_message_gives(texts):
    rules = SafetyRules.from_paths()
    assert rules.matchers.windowed  # on unless SIGNPOST_SPEEDUPS=0
    assert len(texts) > 5000
    long_ones = 0
    for text in texts:
        windowed = rules.check(text)
        rules.matchers.windowed = False
        whole = rules.check(text)
        rules.matchers.windowed = True
        assert windowed == whole, text
        long_ones += len(text.split()) > 60
    assert long_ones > 300


@needs_speedups
def test_a_window_too_short_would_lose_matches(texts, monkeypatch):
    """The check above can fail: with each window a token short, matches go missing."""
    rules = SafetyRules.from_paths()
    rules.matchers.reach = {a: (max(r[0] - 1, 0), max(r[1] - 1, 0)) for a, r in rules.matchers.reach.items()}
    assert any(rules.hits(text) != SafetyRules.from_paths().hits(text) for text in texts[:3000])


@pytest.mark.parametrize(
    "pattern, most",
    [
        ([{"LOWER": "in"}, {"LOWER": "danger"}], 2),
        ([{"LOWER": "in"}, {"LOWER": "any", "OP": "{0,2}"}, {"LOWER": "danger", "OP": "?"}], 4),
        ([{"LOWER": "i"}, {"LOWER": "am", "OP": "{1,3}"}, {"LOWER": "x", "OP": "!"}, {"LOWER": "y", "OP": "{2}"}], 7),
        ([{"LOWER": "i"}, {"LOWER": "am", "OP": "+"}], None),
        ([{"LOWER": "i"}, {"OP": "*"}], None),
        ([{"LOWER": "i"}, {"LOWER": "am", "OP": "{1,}"}], None),
    ],
)
def test_longest_match(pattern, most):
    assert longest(pattern) == most


def test_every_safety_pattern_has_a_longest_match():
    """Else its group runs on the whole message (still right, only slower): none does today."""
    rows = [row for path in SAFETY_PATTERN_FILES for row in load_patterns(path) if row.pattern is not None]
    assert rows and all(longest(row.pattern) for row in rows)


@pytest.mark.parametrize(
    "pattern, sides",
    [
        ([{"LOWER": "in"}, {"LOWER": "any", "OP": "{0,2}"}, {"LOWER": "danger"}], (3, 0)),
        ([{"LOWER": "i"}, {"LOWER": "danger", "OP": "{1,3}"}, {"LOWER": "now", "OP": "?"}], (3, 3)),
        ([{"LOWER": "danger"}, {"LOWER": "x"}, {"LOWER": "danger"}], (2, 2)),  # either may be the anchor
        ([{"LOWER": "danger", "OP": "?"}, {"LOWER": "now"}], None),  # an optional word is never the anchor
        ([{"LOWER": "danger"}, {"OP": "*"}], None),
    ],
)
def test_how_far_a_match_reaches_around_its_anchor(pattern, sides):
    assert around(pattern, frozenset({"danger"})) == sides


def test_windows_join_and_stay_inside_the_message():
    assert windows([0, 3, 20], (2, 3), 22) == [(0, 7), (18, 22)]
    assert windows([5], (10, 10), 8) == [(0, 8)]


@needs_speedups
def test_kept_words_are_built_as_in_a_memory_zone():
    """A word kept in the vocabulary reads exactly as one built for the message and forgotten."""
    plain = spacy.blank("en")
    plain.add_pipe("lemmatizer", config={"mode": "lookup"})
    plain.initialize()
    rules = SafetyRules.from_paths()
    text = normalise("my mum works nights and i keep thinking everyone would be better off without me, 2moro")
    attributes = ("orth_", "lower_", "norm_", "lemma_", "shape_", "prefix_", "suffix_", "is_punct", "like_num")
    with plain.memory_zone():
        expected = [tuple(getattr(t, a) for a in attributes) for t in plain(text)]
    with rules.nlp.memory_zone():
        doc = rules.nlp(text)
        assert all(rules.nlp.vocab.strings[t.orth] for t in doc)
        assert [tuple(getattr(t, a) for a in attributes) for t in doc] == expected
    assert "thinking" in rules.nlp.vocab and "everyone" in rules.nlp.vocab


def _unreadable_as_before(words, known):
    """The unreadable check as it was written before it was shortened: every letter counted, every word asked."""
    words = list(words)
    letters = [ch for word in words for ch in word if ch.isalpha()]
    if not letters:
        return False
    other_script = sum(not (ch.isascii() or unicodedata.name(ch, "").startswith("LATIN")) for ch in letters)
    if other_script * 2 > len(letters):
        return True
    latin_words = [w for w in words if _WORD.fullmatch(w)]
    if len(latin_words) < 2:
        return False
    return sum(known(w) for w in latin_words) < MAX_ENGLISH_SHARE * len(latin_words)


def test_the_unreadable_check_answers_as_before(texts):
    rules = SafetyRules.from_paths()
    extra = ["hola que tal amigo", "я хочу умереть", "dw dw dw", "123 !!", "", "🙂 🙂", "ok ok", "xq zv bla ok"]
    unreadable = 0
    for text in texts + extra:
        with rules.nlp.memory_zone():
            words = [t.lower_ for t in rules.nlp(normalise(text))]
        for known in (rules._english, _known):
            assert is_unreadable(words, known) == _unreadable_as_before(words, known), text
        unreadable += _unreadable_as_before(words, rules._english)
    assert unreadable > 10
