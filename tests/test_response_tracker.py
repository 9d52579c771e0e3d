"""Bot responses run on the tracker itself (bot/rasa_ext/speedups/response_tracker.py): the same answers and the
same tracker as with Rasa's copy, the copy kept where it matters, and a broken stand-in is caught."""

import uuid

import pytest
from test_prediction_cache import random_conversations

from bot.rasa_ext.speedups import response_tracker
from bot.settings import speedups

pytestmark = pytest.mark.skipif(not speedups(), reason="SIGNPOST_SPEEDUPS=0: nothing installed")


def _state(tracker):
    """Everything of a tracker an answer or a later turn can read (event ids and timestamps aside)."""
    events = [(type(e).__name__, {k: v for k, v in vars(e).items() if k != "timestamp"}) for e in tracker.events]
    slots = {name: (slot.value, slot.has_been_set) for name, slot in tracker.slots.items()}
    return events, slots, tracker.latest_action, tracker.followup_action, tracker.active_loop


async def _play(engine, conversations):
    answers, states = [], []
    for turns in conversations:
        conversation_id = uuid.uuid4().hex
        answers.append([(await engine.reply(conversation_id, text)).messages for text in turns])
        states.append(_state(await engine.tracker_store.retrieve(conversation_id)))
    return answers, states


@pytest.fixture
def run_action(engine):
    processor = engine.agent.processor
    run = response_tracker.install(engine.agent)
    cache = engine.predictions
    processor._predict_next_with_tracker = cache.uncached  # Rasa's policies on every prediction too
    try:
        yield run
    finally:
        processor._run_action = run
        processor._predict_next_with_tracker = cache


async def test_the_same_answers_and_trackers_as_with_rasas_copy(engine, run_action):
    conversations = random_conversations(engine, 80, 31)
    before = run_action.uncopied
    ours = await _play(engine, conversations)
    assert run_action.uncopied - before > 200, "bot responses ran without a copy"
    engine.agent.processor._run_action = run_action.stock
    assert await _play(engine, conversations) == ours


async def test_an_action_that_changes_the_tracker_would_be_caught(engine, run_action, monkeypatch):
    """If a bot response changed the tracker it was given, the tracker itself would now change: the comparison
    above sees it."""
    from rasa.core.actions.action import ActionBotResponse
    from rasa.shared.core.events import SlotSet

    original = ActionBotResponse.run

    async def meddling(self, output_channel, nlg, tracker, domain):
        tracker.update(SlotSet("answered", True))  # on Rasa's copy this is thrown away
        return await original(self, output_channel, nlg, tracker, domain)

    monkeypatch.setattr(ActionBotResponse, "run", meddling)
    conversations = random_conversations(engine, 10, 32)
    ours = await _play(engine, conversations)
    engine.agent.processor._run_action = run_action.stock
    assert await _play(engine, conversations) != ours


async def test_rasas_copy_is_kept_when_a_replay_could_differ(engine, run_action, conversation_id):
    await engine.reply(conversation_id, "hi")
    tracker = await engine.tracker_store.retrieve(conversation_id)
    tracker._max_event_history = len(tracker.events)  # full: early events may have been dropped
    before = run_action.uncopied
    await engine.reply(conversation_id, "/thanks")
    assert run_action.uncopied == before and "copy" not in vars(tracker)


def test_installing_twice_keeps_one(engine):
    assert response_tracker.install(engine.agent) is response_tracker.install(engine.agent)
