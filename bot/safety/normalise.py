"""The text the safety patterns see (docs/safety.md, "Normalising"): ``normalise(text)``.

Cleaning (curly quotes, invisible and control characters), letters folded back to plain English (``fold``), words
stretched or spelt out put back together, then the text-speak rewrites (``bot.safety.textspeak``).

Folding letters (``fold``): tricks that hide a crisis from word patterns, and what undoes each one:

- Accents on every letter ("í ẃáńt́ t́ó d́íé", or "zalgo" text with stacked marks): the text is decomposed (NFD) and
  every combining mark that sits on a Latin letter is dropped, then the text is composed again (NFC). Marks on
  other scripts stay, so Cyrillic "й" and the vowel signs of Bengali, Gujarati or Gurmukhi are untouched. A few
  Latin letters that carry no separate mark are folded too (Polish "ł", Turkish "ı", "ø", "đ", "ß").
- Fullwidth letters ("ｉ ｗａｎｔ ｔｏ ｄｉｅ") are already undone by the NFKC step before this one.
- Look-alike letters from other scripts ("і wаnt tо dіе" with Cyrillic і, а, о, е): mapped to the Latin letter they
  copy, from Unicode's confusables data (``LOOKALIKES`` below). Real Cyrillic or Greek text must keep its own
  letters, since Russian and Ukrainian crisis phrases have patterns of their own, so a word is mapped only if it
  mixes Latin letters with look-alikes, or if every letter of it is a look-alike and the message has a mixed word
  or more Latin letters than Cyrillic and Greek ones.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from bot.safety.nlp import _known
from bot.safety.prefilter import may_match
from bot.safety.textspeak import REWRITES

# Cyrillic and Greek letters that Unicode's confusables.txt (UTS #39) lists as confusable with a single ASCII letter,
# taken from the confusables.json that the PyPI package confusable-homoglyphs 3.3.1 ships (generated from
# confusables.txt), upper and lower case, each mapped to the lower-case Latin letter. The capital Ι/І/Ӏ, which
# confusables lists with "l", are mapped to "i": after lower-casing they stand for the letter i.
_FROM = "ͿΑΒΕΖΗΙΚΜΝΟΡΤΥΧαγινορσυϒϜϱϲϳϹϺЅІЈАВЕКМНОРСТУХЬагеорсухѕіјѡѴѵҮүһҽӀӏԁԌԛԜԝᴦιꙇ"
_TO = "jabezhikmnoptyxayivopouyfpcjcmsijabekmhopctyxbareopcyxsijwvvyyheiidgqwwrii"
LOOKALIKES = dict(zip(_FROM, _TO))
assert len(_FROM) == len(_TO)

# Latin letters with a stroke or of their own that NFD does not split into letter + mark.
_PLAIN_LATIN = str.maketrans({"ł": "l", "Ł": "l", "ı": "i", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ß": "ss"})
_LETTERS = re.compile(r"[^\W\d_]+")


def _is_latin(ch: str) -> bool:
    return ch.isascii() or unicodedata.name(ch, "").startswith("LATIN")


def strip_accents(text: str) -> str:
    """Combining marks on Latin letters dropped ("d́íé" -> "die"); marks on other scripts kept."""
    out = []
    base_is_latin = False
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch):
            if not base_is_latin:
                out.append(ch)
            continue
        base_is_latin = ch.isalpha() and _is_latin(ch)
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out)).translate(_PLAIN_LATIN)


def unmask_lookalikes(text: str) -> str:
    """Cyrillic/Greek look-alike letters mapped to Latin inside words that are really Latin (see the docstring)."""
    if not any(ch in LOOKALIKES for ch in text):
        return text
    words = _LETTERS.findall(text)
    mixed = any(_mixes(word) for word in words)
    latin = sum(ch.isascii() for word in words for ch in word)
    foreign = sum(not ch.isascii() and _is_cyrillic_or_greek(ch) for word in words for ch in word)
    latin_context = mixed or latin > foreign

    def fix(match: "re.Match[str]") -> str:
        word = match.group(0)
        if _mixes(word) or (latin_context and all(ch in LOOKALIKES or ch.isascii() for ch in word)):
            return "".join(LOOKALIKES.get(ch, ch) for ch in word)
        return word

    return _LETTERS.sub(fix, text)


def _mixes(word: str) -> bool:
    return any(ch.isascii() for ch in word) and any(ch in LOOKALIKES for ch in word)


def _is_cyrillic_or_greek(ch: str) -> bool:
    name = unicodedata.name(ch, "")
    return name.startswith("CYRILLIC") or name.startswith("GREEK")


def fold(text: str) -> str:
    """Accents off Latin letters, then look-alike letters back to Latin (case is kept; the caller lower-cases)."""
    if text.isascii():  # no marks, no other scripts: both steps leave plain ASCII as it is (tests/test_safety.py)
        return text
    return unmask_lookalikes(strip_accents(text))


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
_ASCII_CONTROL = re.compile("[\x00-\x1f\x7f]")
_REPEATED = re.compile(r"([a-z])\1{2,}")
_SPELLED_OUT = re.compile(r"\b[a-z](?: [a-z]){2,}\b")
_WORD = re.compile(r"[a-z]+")


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
    if text.isascii():  # the ASCII control characters are exactly its "C" category (tests/test_safety.py)
        text = _ASCII_CONTROL.sub(" ", text)
    else:
        text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    text = fold(text).lower()
    if _REPEATED.search(text):  # only a word with a letter three times in a row is squeezed
        text = _WORD.sub(_squeeze, text)
    text = _SPELLED_OUT.sub(_join_letters, text)
    for pattern, replacement, found in REWRITES:
        if may_match(found, text):  # else the pattern cannot match: its sub would change nothing
            text = pattern.sub(replacement, text)
    return " ".join(text.split())


def normalise(text: str) -> str:
    """The text the patterns see (docs/safety.md). Always ends with ' .' (the end-of-message mark)."""
    return (_rewrite(text or "") + " .").lstrip()
