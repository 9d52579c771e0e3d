"""Whatever a young person's phone sends, the bot answers and never crashes (property-based, on the real engine)."""

import asyncio
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.concerns import CONCERNS

EMOJI = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
INVISIBLE = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"])
RIGHT_TO_LEFT = st.sampled_from(["\u202e", "\u202b", "\u200f", "\u061c", "\u2067"])
CONTROL = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.characters(min_codepoint=0x7F, max_codepoint=0x9F)
SCRIPTS = st.sampled_from(
    [
        "hello",
        "привет",
        "مرحبا",
        "שלום",
        "你好",
        "こんにちは",
        "안녕",
        "नमस्ते",
        "γεια",
        "sn\u0430p",
        "i want to die",
        "kms",
    ]
)

TEXTS = st.one_of(
    st.text(max_size=300),  # any Unicode text (no lone surrogates: Telegram sends UTF-8)
    st.text(alphabet=st.characters(whitelist_categories=("Zs", "Cc")), max_size=50),  # white space and controls
    st.text(alphabet=EMOJI, min_size=1, max_size=40),  # emoji only
    st.lists(st.one_of(SCRIPTS, INVISIBLE, RIGHT_TO_LEFT, CONTROL, EMOJI), max_size=30).map("".join),
    st.builds(lambda word, n: (word + " ") * n, SCRIPTS, st.integers(min_value=100, max_value=2000)),
)

EDGE_CASES = [
    "",
    " ",
    "\n\t\r ",
    "a" * 10_000,
    "i want to die " * 700,
    "😭" * 500,
    "\u200b\u200c\u200d\ufeff",
    "\u202ei want to die\u202c",
    "\u202b\u0645\u0631\u062d\u0628\u0627 snapchat",
    "\x00\x01\x02\x1b[31m\x7f",
    "привет 你好 مرحبا hello 👋",
    "z\u0336a\u0336l\u0336g\u0336o\u0336" * 50,
    "/",
    "//",
    "/help",
    '/inform_platform{"platform": "myspace"}',
    "/immediate_danger{",
    '{"text": "hi"}',
    "<script>alert(1)</script>",
    "%s %d {0} {platform}",
    "\\",
]


def _reply(engine, text):
    return asyncio.run(engine.reply(uuid.uuid4().hex, text))


def _check(reply):
    # Engine.reply answers every exception with the failure reply (Childline), which has messages too: this is what
    # tells a turn that worked from one that raised.
    assert reply.by != "error", "the engine raised and answered with the failure reply"
    assert reply.messages, "the bot must always answer"
    assert all(m.text or m.buttons for m in reply.messages)
    assert reply.concern in CONCERNS


@pytest.mark.parametrize("text", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_edge_cases_get_an_answer(engine, text):
    _check(_reply(engine, text))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS)
def test_any_text_gets_an_answer_and_never_raises(engine, text):
    _check(_reply(engine, text))


@settings(max_examples=20, deadline=None)
@given(texts=st.lists(TEXTS, min_size=2, max_size=4))
def test_a_conversation_of_odd_messages_keeps_answering(engine, texts):
    conversation_id = uuid.uuid4().hex
    for text in texts:
        _check(asyncio.run(engine.reply(conversation_id, text)))


@settings(max_examples=30, deadline=None)
@given(text=TEXTS)
def test_classify_never_raises(engine, text):
    result = asyncio.run(engine.classify(text))
    assert result["concern"] in CONCERNS
    assert result["by"] in ("safety", "model")
