"""With SIGNPOST_SPEEDUPS=0 the engine is stock Rasa (bot/rasa_ext/speedups/README.md) and answers exactly the same."""

import uuid

import pytest
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.domain import Domain

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
async def test_stock_rasa_answers_exactly_as_the_engine_with_its_speedups(engine, monkeypatch):
    from bot.engine import Engine

    with_speedups = await _answers(engine)
    monkeypatch.setenv("SIGNPOST_SPEEDUPS", "0")
    stock = Engine.load()
    # Really stock: Rasa's dask runner, no prediction cache, Rasa's own Domain.is_empty.
    assert isinstance(stock.agent.processor.graph_runner, DaskGraphRunner)
    assert stock.predictions is None
    assert "is_empty" not in vars(stock.agent.domain) and stock.agent.domain.is_empty() is Domain.is_empty(
        stock.agent.domain
    )
    assert await _answers(stock) == with_speedups
