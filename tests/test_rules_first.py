"""RulePolicy first on a miss (bot/rasa_ext/speedups/rules_first.py): every prediction exactly Rasa's whole
ensemble's, and a stand-in that could win is caught."""

import uuid

import pytest
from test_prediction_cache import random_conversations

from bot.rasa_ext.speedups import rules_first
from bot.settings import speedups

pytestmark = pytest.mark.skipif(not speedups(), reason="SIGNPOST_SPEEDUPS=0: nothing installed")


def _described(prediction):
    """A prediction as the processor reads it, taken at once (the events it goes on to log get stamped)."""
    events = [(type(e).__name__, {k: v for k, v in vars(e).items() if k != "timestamp"}) for e in prediction.events]
    return {k: v for k, v in vars(prediction).items() if k not in ("events", "optional_events")}, events


async def _compare(engine, first, predict, count, seed):
    """Play random conversations with the cache out of the way, each prediction made by `predict` and by Rasa."""
    processor, cache = engine.agent.processor, engine.predictions
    pairs = []

    def both(tracker):
        ours = predict(tracker)
        pairs.append((_described(ours), _described(first.stock(tracker))))
        return ours

    processor._predict_next_with_tracker = both
    try:
        for turns in random_conversations(engine, count, seed):
            conversation_id = uuid.uuid4().hex
            for text in turns:
                await engine.reply(conversation_id, text)
    finally:
        processor._predict_next_with_tracker = cache
    return pairs


@pytest.fixture
def first(engine):
    found = rules_first.install(engine.agent)
    assert found is not None and engine.predictions._predict is found
    return found


async def test_every_prediction_is_the_whole_ensembles(engine, first):
    before = first.shortcuts
    pairs = await _compare(engine, first, first, 100, 41)
    assert first.shortcuts - before > 500  # (in this bot a rule is sure of nearly every prediction)
    assert all(ours == rasas for ours, rasas in pairs)


async def test_the_graph_run_with_rulepolicys_prediction_given_is_rasas_too(engine, first, monkeypatch):
    monkeypatch.setattr(first, "sure", 2.0)  # never sure: MemoizationPolicy runs, RulePolicy's prediction reused
    before = first.shortcuts
    pairs = await _compare(engine, first, first, 30, 43)
    assert first.shortcuts == before and len(pairs) > 100
    assert all(ours == rasas for ours, rasas in pairs)


async def test_a_stand_in_that_could_win_is_caught(engine, first, monkeypatch):
    real = first.forgotten

    def sure_of_itself():
        prediction = real()
        prediction.probabilities = [1.0] * len(prediction.probabilities)
        prediction.policy_priority = 99
        return prediction

    monkeypatch.setattr(first, "forgotten", sure_of_itself)
    pairs = await _compare(engine, first, first, 20, 42)
    assert not all(ours == rasas for ours, rasas in pairs)


def test_installing_twice_keeps_one(engine, first):
    assert rules_first.install(engine.agent) is first
