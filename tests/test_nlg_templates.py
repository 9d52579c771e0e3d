"""The response choice and placeholder rewrite worked out once (bot/rasa_ext/speedups/nlg_templates.py): the same
variation from the same random state, the same filled responses, the same answers, no text held."""

import re
import uuid

import numpy as np
import pytest
from helpers import strings_in
from rasa.core.nlg import interpolator
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from test_prediction_cache import CANARY, random_conversations

from bot.rasa_ext.speedups import nlg_templates
from bot.settings import speedups

pytestmark = pytest.mark.skipif(not speedups(), reason="SIGNPOST_SPEEDUPS=0: nothing installed")


@pytest.fixture
def choice(engine):
    found = nlg_templates.install(engine.agent)
    assert found is not None and isinstance(interpolator.re, nlg_templates.TemplateRe)
    return found


def _slot_values(engine):
    """Slot values every condition of the domain's responses names, each alone and all unset."""
    values = [{}]
    for variations in engine.agent.domain.responses.values():
        for variation in variations:
            for condition in variation.get("condition") or ():
                values.append({condition["name"]: condition["value"]})
                values.append(
                    {condition["name"]: not condition["value"]} if isinstance(condition["value"], bool) else {}
                )
    return values


def test_the_same_variation_from_the_same_random_state(engine, choice):
    nlg = engine.agent.nlg
    stock = TemplatedNaturalLanguageGenerator._random_response_for.__get__(nlg)
    seen_several = 0
    for action, variations in engine.agent.domain.responses.items():
        for slots in _slot_values(engine):
            for seed in range(5):
                np.random.seed(seed)
                ours, our_state = choice(action, "collector", slots), np.random.get_state()
                np.random.seed(seed)
                rasas, rasa_state = stock(action, "collector", slots), np.random.get_state()
                assert ours is rasas, (action, slots)
                assert all(np.array_equal(a, b) for a, b in zip(our_state, rasa_state))
        seen_several += len(variations) > 1
    assert seen_several > 0, "some responses have several variations to draw from"


def test_a_choice_blind_to_slot_values_is_caught(engine, choice):
    """The remembered variations are keyed by the slots the conditions name; without them the wrong one comes back
    (this domain's several variations are all told apart by conditions, so each draw is from one)."""
    blind = nlg_templates.ResponseChoice(engine.agent.nlg)
    blind._names = {}
    stock = TemplatedNaturalLanguageGenerator._random_response_for.__get__(engine.agent.nlg)
    differ = 0
    for action in engine.agent.domain.responses:
        for slots in _slot_values(engine):
            differ += blind(action, "collector", slots) is not stock(action, "collector", slots)
    assert differ > 0


def test_every_template_is_rewritten_as_by_re_and_only_templates_are_held(engine, choice, conversation_id):
    rewrite = interpolator.re
    strings = nlg_templates._strings(engine.agent.domain.responses)
    assert len(strings) > 100
    for text in strings:
        assert rewrite.sub(nlg_templates.PLACEHOLDER, nlg_templates.REWRITE, text) == re.sub(
            nlg_templates.PLACEHOLDER, nlg_templates.REWRITE, text
        )
    other = f"a {{name}} and {CANARY}"
    assert rewrite.sub(nlg_templates.PLACEHOLDER, nlg_templates.REWRITE, other) == "a {0[name]} and " + CANARY
    assert rewrite.split(",", "a,b") == ["a", "b"], "everything else is the re module's"
    assert not nlg_templates.only_the_rewrite(re), "a module that uses re otherwise is left alone"


async def test_the_same_answers_with_and_without(engine, choice, conversation_id):
    conversations = random_conversations(engine, 60, 51)
    nlg = engine.agent.nlg

    async def answers():
        np.random.seed(7)
        played = []
        for turns in conversations:
            conversation_id = uuid.uuid4().hex
            played.append([(await engine.reply(conversation_id, text)).messages for text in turns])
        return played

    ours = await answers()
    await engine.reply(conversation_id, f"someone on snap said {CANARY}")
    assert CANARY not in " ".join(strings_in(interpolator.re) + strings_in(choice._suitable))
    try:
        nlg_templates.uninstall()
        del nlg._random_response_for
        assert await answers() == ours
    finally:
        nlg_templates.install(engine.agent)
