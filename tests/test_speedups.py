"""With SIGNPOST_SPEEDUPS=0 the engine is stock Rasa (bot/rasa_ext/speedups/README.md) and answers exactly the same."""

import copy
import importlib
import json
import re
import uuid
from pathlib import Path

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.nlg import interpolator
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.domain import Domain

from bot.rasa_ext.speedups import install as speedups_install
from bot.rasa_ext.speedups import log_copies, rule_index
from bot.settings import speedups

CONVERSATIONS = [
    ["hi", "someone on snap keeps asking me for nudes", "how do i block him", "thanks"],
    ["he says he'll post my pics unless i pay him", '/inform_platform{"platform":"instagram"}', "what now"],
    ["i want to die", "im safe now", "can i talk to someone"],
    [
        "hiya. i met a boy on roblox last month and we moved to snap. now he keeps asking for pictures and says "
        "he will tell everyone at school if i dont send them. also my friend got sent a nude by a stranger. "
        "what do i do",
        "my mate says she wants to kill herself",
    ],
    ["🙂", "what's the capital of france", "/greet"],
]


DATA = Path(__file__).resolve().parent / "data"


def _every_line():
    """Every message of every evaluation set, and the benchmark's 100-word messages (read sentence by sentence)."""
    from benchmarks.conversations import LONG_MESSAGES

    texts = [
        json.loads(line)["text"]
        for path in sorted(DATA.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return texts + list(LONG_MESSAGES)


async def _readings(engine, texts):
    """What the NLU makes of each text: intent, confidence, ranking, the safety net's verdict, the long-message note
    and the entities (apps)."""
    readings = []
    for text in texts:
        parse = await engine._parse(text)
        ranking = [(r["name"], r["confidence"]) for r in parse.get("intent_ranking") or []]
        entities = sorted((e["entity"], e.get("value"), e.get("start"), e.get("end")) for e in parse["entities"])
        readings.append((parse["intent"], ranking, parse.get("safety"), (parse.get("long_message"), entities)))
    return readings


def _same(ours, rasas):
    """Equal, confidences to 1e-9 (in practice they are bit for bit the same)."""
    (intent, ranking, safety, note), (intent2, ranking2, safety2, note2) = ours, rasas
    close = lambda a, b: abs((a or 0.0) - (b or 0.0)) <= 1e-9  # noqa: E731
    return (
        intent["name"] == intent2["name"]
        and close(intent.get("confidence"), intent2.get("confidence"))
        and [n for n, _ in ranking] == [n for n, _ in ranking2]
        and all(close(a, b) for (_, a), (_, b) in zip(ranking, ranking2))
        and (safety, note) == (safety2, note2)
    )


async def _answers(engine):
    answers = []
    for conversation in CONVERSATIONS:
        conversation_id = uuid.uuid4().hex
        for text in conversation:
            answers.append((text, (await engine.reply(conversation_id, text)).to_dict()))
        await engine.forget(conversation_id)
    for conversation in CONVERSATIONS:
        for text in conversation:
            answers.append((text, await engine.classify(text)))
    return answers


@pytest.mark.slow  # loads a second engine, on stock Rasa
async def test_stock_rasa_answers_exactly_as_the_engine_with_its_speedups(engine, monkeypatch, request):
    from bot.engine import Engine

    with_speedups = await _answers(engine)
    texts = _every_line()
    readings = await _readings(engine, texts)
    monkeypatch.setenv("SIGNPOST_SPEEDUPS", "0")
    stock = Engine.load()
    request.addfinalizer(lambda: speedups_install(engine.agent))  # back for the engine with its speed-ups
    # Really stock: Rasa's dask runner, no prediction cache, Rasa's own Domain.is_empty.
    assert isinstance(stock.agent.processor.graph_runner, DaskGraphRunner)
    assert stock.predictions is None
    assert "is_empty" not in vars(stock.agent.domain) and stock.agent.domain.is_empty() is Domain.is_empty(
        stock.agent.domain
    )
    # RulePolicy's own rule search, Rasa's debug-log copies.
    assert not any("_get_possible_keys" in vars(p) for p in rule_index.rule_policies(stock.agent))
    assert all(importlib.import_module(name).copy is copy for name in log_copies.MODULES)
    assert interpolator.re is re and "_random_response_for" not in vars(stock.agent.nlg)
    assert await _answers(stock) == with_speedups
    # Every message of every evaluation set, long ones read sentence by sentence, read the same by stock Rasa.
    stock_readings = await _readings(stock, texts)
    assert len(texts) > 900 and sum(bool(r[3]) for r in readings) > 50
    assert [t for t, ours, rasas in zip(texts, readings, stock_readings) if not _same(ours, rasas)] == []


@pytest.mark.skipif(not speedups(), reason="SIGNPOST_SPEEDUPS=0: no speed-up to check")
async def test_a_long_message_read_in_one_batch_is_read_exactly_as_in_two_runs(engine):
    """bot/rasa_ext/speedups/long_batch.py: the whole message and its sentences up to the classifier together, the
    rest of the graph on the whole alone, against the whole message through the graph and then its sentences."""
    from bot import long_messages

    texts = [t for t in _every_line() if long_messages.is_long(t) and len(long_messages.split_sentences(t)) > 1]
    assert len(texts) > 50
    for text in texts:
        pieces = long_messages.split_sentences(text)
        whole = await engine.agent.processor.parse_message(UserMessage(text))
        two_runs = long_messages.combined_parse(whole, engine._model_readings(pieces))
        one_batch = await engine._parse(text)
        for parse in (two_runs, one_batch):
            parse.pop("message_id", None)  # a new id for every message
        assert one_batch == two_runs, text  # bit for bit: every confidence, entity and note
