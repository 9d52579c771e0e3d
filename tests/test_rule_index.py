"""The rule index (bot/rasa_ext/speedups/rule_index.py): RulePolicy finds exactly the rules it finds without it, in
the same order, gives the same answers, and remembers no text."""

import uuid

import pytest
from helpers import strings_in
from test_prediction_cache import CANARY, random_conversations

from bot.rasa_ext.speedups import rule_index
from bot.settings import speedups

needs_the_index = pytest.mark.skipif(not speedups(), reason="SIGNPOST_SPEEDUPS=0: no rule index")


@pytest.fixture
def index(engine):
    """The engine's rule index, with the prediction cache out of the way so RulePolicy runs on every prediction."""
    (found,) = rule_index.install(engine.agent)
    processor = engine.agent.processor
    cache = engine.predictions
    processor._predict_next_with_tracker = cache.uncached
    try:
        yield found
    finally:
        processor._predict_next_with_tracker = cache
        found.policy._get_possible_keys = found


async def play(engine, turns):
    conversation_id = uuid.uuid4().hex
    return [(await engine.reply(conversation_id, text)).messages for text in turns]


async def record_calls(engine, index, count, seed):
    """Every (lookup, states) RulePolicy searched while random conversations were played."""
    calls = []

    def spy(lookup, states):
        calls.append((lookup, states))
        return index(lookup, states)

    index.policy._get_possible_keys = spy
    try:
        for turns in random_conversations(engine, count, seed):
            await play(engine, turns)
    finally:
        index.policy._get_possible_keys = index
    return calls


@needs_the_index
async def test_the_same_rules_are_found_in_the_same_order(engine, index):
    calls = await record_calls(engine, index, 120, 7)
    assert len(calls) > 500
    found = [list(index(lookup, states)) for lookup, states in calls]
    assert found == [list(index.stock(lookup, states)) for lookup, states in calls]
    assert sum(bool(rules) for rules in found) > 100, "rules were found, not only empty sets"
    assert sum(len(states) > 6 for _, states in calls) > 100, "conversations longer than the longest rule"


@needs_the_index
async def test_an_index_that_ignores_the_slots_is_caught(engine, index):
    """The comparison above can fail: an index blind to slot values finds other rules."""
    calls = await record_calls(engine, index, 60, 8)
    blind = rule_index.RuleIndex(index.policy, tuple(p for p in index._pairs if p[0] != "slots"))
    assert any(blind(lookup, states) != index.stock(lookup, states) for lookup, states in calls)


@needs_the_index
async def test_random_conversations_get_the_same_answers_with_and_without_the_index(engine, index):
    played = random_conversations(engine, 80, 9)
    with_index = [await play(engine, turns) for turns in played]
    index.policy._get_possible_keys = index.stock
    without = [await play(engine, turns) for turns in played]
    for turns, ours, stock in zip(played, with_index, without):
        assert ours == stock, turns


@needs_the_index
async def test_the_index_remembers_no_text_and_is_bounded(engine, index, conversation_id):
    await engine.reply(conversation_id, f"someone on snap said {CANARY} and wants pics")
    await engine.reply(conversation_id, f"its {CANARY} again")
    found = " ".join(strings_in(index._applicable))
    assert index._applicable and CANARY not in found
    small = rule_index.RuleIndex(index.policy, index._pairs, size=3)
    for lookup, states in await record_calls(engine, index, 10, 10):
        assert small(lookup, states) == index.stock(lookup, states)
        assert len(small._applicable) <= 3


@needs_the_index
def test_installing_twice_keeps_one_index(engine):
    first = rule_index.install(engine.agent)
    assert rule_index.install(engine.agent) == first and len(first) == 1
