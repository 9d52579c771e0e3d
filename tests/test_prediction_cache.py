"""The prediction cache (bot/rasa_ext/speedups/prediction_cache.py): it never changes an answer, holds no text, and
stays bounded."""

import random
import uuid

import pytest
import yaml
from helpers import strings_in

from bot.concerns import PLATFORMS
from bot.rasa_ext.speedups.prediction_cache import PredictionCache, dialogue_key
from bot.settings import CONFIG, speedups

# The cache is a speed-up: with SIGNPOST_SPEEDUPS=0 the engine has none, so there is nothing to check on it.
needs_the_cache = pytest.mark.skipif(not speedups(), reason="SIGNPOST_SPEEDUPS=0: no prediction cache")

CANARY = "zebra-canary-5521"
TYPED = (
    "hi",
    "someone on snap keeps asking me for pics",
    "a guy says he will post my nudes unless i pay",
    "i want to die",
    "how do i block someone",
    "its on insta",
    "thanks",
    "what happens to what i type",
    f"my {CANARY} friend is being weird",
    "🙂",
)


def random_conversation(rng, intents):
    """A random conversation of button payloads and typed messages, as a young person might mix them."""
    turns = []
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        if choice < 0.5:
            turns.append(f"/{rng.choice(intents)}")
        elif choice < 0.7:
            turns.append(f'/inform_platform{{"platform":"{rng.choice(sorted(PLATFORMS))}"}}')
        else:
            turns.append(rng.choice(TYPED))
    return turns


def random_conversations(engine, count, seed):
    """`count` random conversations (seeded) over the loaded domain's intents."""
    rng = random.Random(seed)
    intents = sorted(i for i in engine.agent.domain.intents if i not in {"restart", "back", "session_start"})
    return [random_conversation(rng, intents) for _ in range(count)]


async def play(engine, turns):
    conversation_id = uuid.uuid4().hex
    return [(await engine.reply(conversation_id, text)).messages for text in turns]


@needs_the_cache
async def test_random_conversations_get_the_same_answers_with_and_without_the_cache(engine):
    conversations = random_conversations(engine, 150, 2024)
    processor = engine.agent.processor
    cache = engine.predictions
    hits_before = cache.hits
    cached = [await play(engine, turns) for turns in conversations]
    assert cache.hits > hits_before, "the cache was used"
    processor._predict_next_with_tracker = cache.uncached
    try:
        uncached = [await play(engine, turns) for turns in conversations]
    finally:
        processor._predict_next_with_tracker = cache
    for turns, with_cache, without in zip(conversations, cached, uncached):
        assert with_cache == without, turns


def test_the_rules_stay_one_user_message_long_as_the_cache_assumes():
    policies = yaml.safe_load(CONFIG.read_text())["policies"]
    rule_policy = next(p for p in policies if p["name"] == "RulePolicy")
    assert rule_policy.get("restrict_rules", True) is True


@needs_the_cache
async def test_the_key_holds_no_text_and_no_entity_values(engine, conversation_id):
    captured = []
    original = engine.predictions._predict

    def spy(tracker):
        captured.append(dialogue_key(tracker))
        return original(tracker)

    engine.predictions._predict = spy
    engine.predictions.clear()
    try:
        await engine.reply(conversation_id, f"someone on snap said {CANARY} and wants pics")
    finally:
        engine.predictions._predict = original
    assert captured and all(key is not None for key in captured)
    found = " ".join(strings_in(captured) + strings_in(engine.predictions._predictions))
    assert CANARY not in found and "snap" not in found.replace("snapchat", "")
    assert "platform" in found, "entity types are part of the key"


async def test_only_the_latest_two_turns_and_the_first_message_matter(engine):
    async def key_after(turns):
        conversation_id = uuid.uuid4().hex
        for text in turns:
            await engine.reply(conversation_id, text)
        return dialogue_key(await engine.tracker_store.retrieve(conversation_id))

    same = await key_after(["/greet", "/sextortion", "/thanks"])
    # (earlier turns that leave every slot as it was: a concern before would already have set `under_way`)
    assert same == await key_after(["/help", "/bot_challenge", "/sextortion", "/thanks"])
    later = await key_after(["/image_shared", "/greet", "/sextortion", "/thanks"])
    assert later == await key_after(["/friend_worried", "/help", "/sextortion", "/thanks"]), "slots by value"
    assert same != await key_after(["/greet", "/image_shared", "/thanks"]), "the turn before counts"
    assert await key_after(["/thanks"]) != await key_after(["/greet", "/thanks"]), "the first message counts"


def test_the_cache_is_bounded_and_hands_out_fresh_events(monkeypatch):
    class Prediction:
        policy_name = "RulePolicy"
        max_confidence = 1.0
        optional_events = []

        def __init__(self, event):
            self.events = [event]

    class Event:
        timestamp = 0.0

    class Tracker:
        def __init__(self, intent):
            self.intent = intent

    predicted = []

    def predict(tracker):
        predicted.append(tracker.intent)
        return Prediction(Event())

    monkeypatch.setattr(
        "bot.rasa_ext.speedups.prediction_cache.dialogue_key", lambda tracker, longest=None: (tracker.intent,)
    )
    cache = PredictionCache(predict, size=2)
    first = cache(Tracker("a"))
    again = cache(Tracker("a"))
    assert predicted == ["a"] and cache.hits == 1
    assert again.events[0] is not first.events[0] and again.events[0].timestamp > 0
    cache(Tracker("b"))
    cache(Tracker("c"))
    assert len(cache) == 2
    cache(Tracker("a"))
    assert predicted == ["a", "b", "c", "a"], "the least recently used was dropped"
    with pytest.raises(ValueError):
        PredictionCache(predict, size=0)


async def _answers_with_cut(engine, conversations, longest):
    """The conversations' answers with a fresh cache whose key is cut at `longest` states."""
    processor = engine.agent.processor
    cache = engine.predictions
    processor._predict_next_with_tracker = PredictionCache(cache._predict, longest=longest)
    try:
        return [await play(engine, turns) for turns in conversations], processor._predict_next_with_tracker
    finally:
        processor._predict_next_with_tracker = cache


@needs_the_cache
async def test_the_key_cut_at_the_longest_rule_changes_no_answer(engine):
    """The key reads only as many states back as the longest rule has (`longest`); a cut too short is caught."""
    conversations = random_conversations(engine, 150, 77)
    longest = engine.predictions.longest
    assert longest and longest >= 2
    whole, whole_cache = await _answers_with_cut(engine, conversations, None)
    cut, cache = await _answers_with_cut(engine, conversations, longest)
    assert cut == whole and cache.hits > whole_cache.hits, "the cut key is shared more"
    # (Random conversations rarely meet the few longest rules, whose last action is what a shorter rule predicts
    # too; a cut at one state misses the action before the message, and changes answers.)
    too_short, _ = await _answers_with_cut(engine, conversations, 1)
    assert too_short != whole
