"""The safety net's rewrite guards (bot/safety/prefilter.py) and ASCII shortcuts change no normalised text."""

import importlib
import random
import re
import unicodedata

import pytest

from bot.safety.prefilter import may_match, needles
from bot.safety.textspeak import _REWRITES_COMPILED, REWRITES

N = importlib.import_module("bot.safety.normalise")  # the module: bot.safety exports its function by the same name


@pytest.mark.parametrize(
    "pattern, expected",
    [
        (r"\bsew(?:er|a)\s*-?\s*slide\b", {"slide"}),
        (r"\b(?:gonna|gunna)\b", {"onna", "unna"}),  # the parser takes the "g" both start with out first
        (r"\bs[u*]\*?de\b", {"de"}),  # the run after the optional star
        (r"\b2\s+(?=(?:die|live)\b)", {"die", "live"}),  # a lookahead's words are in the text too
        (r"\bx?\b", None),  # nothing must be there
        (r"(?i)\bkms\b", None),  # a flag changes what matches: never skipped
        (r"a|\bb*", None),  # one alternative needs nothing
    ],
)
def test_needles(pattern, expected):
    found = needles(re.compile(pattern))
    assert (found if found is None else set(found)) == expected


def test_a_pattern_never_matches_a_text_without_its_needles():
    rng = random.Random(7)
    alphabet = "abcdeiklmnorstuwy2'* "
    for pattern, _replacement, found in REWRITES:
        for _ in range(300):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
            if pattern.search(text):
                assert may_match(found, text), (pattern.pattern, text)


def _rewrite_unguarded(text):
    """bot.safety.normalise._rewrite without any shortcut: every step on every text."""
    text = unicodedata.normalize("NFKC", text).translate(N._QUOTES)
    text = N._INVISIBLE.sub("", text)
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    text = N.unmask_lookalikes(N.strip_accents(text)).lower()
    text = N._WORD.sub(N._squeeze, text)
    text = N._SPELLED_OUT.sub(N._join_letters, text)
    for pattern, replacement in _REWRITES_COMPILED:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def test_the_shortcuts_give_the_text_every_step_gives():
    rng = random.Random(11)
    alphabet = "abcdefghijklmnopqrstuvwxyz   '*!12.\n\t\x07\x7féíаеі\u200bÿ`\u2019"
    words = "i im wanna kms unalive myself cant u r sh ded diiie d i e idk 2 die tonite sewer slide".split()
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(3000)]
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    for text in texts:
        assert N._rewrite(text) == _rewrite_unguarded(text), text


def test_ascii_is_left_alone_by_folding_and_its_control_characters_are_its_c_category():
    assert all(not ch.isascii() for ch in N.LOOKALIKES)
    assert all(not chr(code).isascii() for code in N._PLAIN_LATIN)
    for code in range(128):
        ch = chr(code)
        assert (unicodedata.category(ch)[0] == "C") == bool(N._ASCII_CONTROL.fullmatch(ch))
        assert N.unmask_lookalikes(N.strip_accents(ch)) == ch
