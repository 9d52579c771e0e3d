"""The engine: one message in, the bot's messages out, with what it understood."""

import copy
import json

import numpy as np
import pytest

from bot.concerns import CONCERNS, PLATFORMS
from bot.settings import speedups

# These check a speed-up (bot/rasa_ext/speedups/) against Rasa's own way; with SIGNPOST_SPEEDUPS=0 there is none.
checks_a_speedup = pytest.mark.skipif(not speedups(), reason="SIGNPOST_SPEEDUPS=0: no speed-up to check")


async def test_a_concern_naming_an_app_gets_that_apps_steps(engine, conversation_id):
    reply = await engine.reply(conversation_id, "a boy on sc wont stop asking me for pics with no clothes on")
    assert reply.concern == "asked_for_nudes"
    assert reply.platform == "snapchat"
    text = " ".join(m.text for m in reply.messages)
    assert "Snapchat" in text
    assert "0800 1111" in text


async def test_every_concern_answer_offers_danger_and_a_person(engine, conversation_id):
    reply = await engine.reply(conversation_id, "someone i dont know keeps asking me for nudes on insta")
    payloads = {b.payload for m in reply.messages for b in m.buttons}
    assert "/immediate_danger" in payloads
    assert "/talk_to_someone" in payloads


async def test_an_unnamed_app_is_asked_for_with_buttons_then_its_steps_follow(engine, conversation_id):
    first = await engine.reply(conversation_id, "how do i block someone")
    assert first.concern == "block_report_help"
    app_buttons = [b for m in first.messages for b in m.buttons if b.payload.startswith("/inform_platform")]
    assert len(app_buttons) >= 5
    tiktok = next(b for b in app_buttons if '"tiktok"' in b.payload)
    second = await engine.reply(conversation_id, tiktok.payload)
    assert second.by == "button"
    assert second.platform == "tiktok"
    assert "TikTok" in " ".join(m.text for m in second.messages)


async def test_a_payload_for_an_unknown_intent_is_read_as_text(engine, conversation_id):
    reply = await engine.reply(conversation_id, "/not_an_intent")
    assert reply.by != "button"
    assert reply.messages


@pytest.mark.parametrize("text", ["", "   ", "😢😢", "🙂", "\u200b"])
async def test_messages_without_words_get_the_menu_and_childline(engine, conversation_id, text):
    reply = await engine.reply(conversation_id, text)
    assert reply.by == "engine"
    assert "0800 1111" in " ".join(m.text for m in reply.messages)
    assert any(m.buttons for m in reply.messages)


async def test_classify_reports_a_fixed_concern_label(engine):
    result = await engine.classify("hiya")
    assert result["concern"] in CONCERNS
    assert result["platform"] is None or result["platform"] in PLATFORMS
    assert 0.0 <= result["confidence"] <= 1.0


async def test_a_concern_is_counted_once_per_conversation(engine, conversation_id):
    class Recorder:
        def __init__(self):
            self.calls = []

        def record(self, concerns=(), platforms=(), outcomes=(), failures=()):  # the signature of Stats.record
            self.calls.append((list(concerns), list(platforms), list(outcomes)))

    recorder, engine.stats = Recorder(), None
    try:
        engine.stats = recorder
        await engine.reply(conversation_id, "he keeps asking me for nudes on snap")
        assert recorder.calls == [], "counting is a step of its own, after the reply"
        await engine.count(conversation_id)
        await engine.reply(conversation_id, "he asked for nudes again on snapchat")
        await engine.count(conversation_id)
    finally:
        engine.stats = None
    (concerns1, platforms1, outcomes1), (concerns2, platforms2, outcomes2) = recorder.calls
    assert concerns1 == ["asked_for_nudes"] and platforms1 == ["snapchat"]
    assert "childline_shown" in outcomes1 and "block_report_steps_shown" in outcomes1
    assert concerns2 == [] and platforms2 == [] and outcomes2 == []


async def test_a_failure_inside_gives_childline_and_forgets_the_conversation(engine, conversation_id):
    await engine.reply(conversation_id, "hi")
    assert await engine.tracker_store.retrieve(conversation_id) is not None
    original = engine.agent.handle_message

    async def broken(message):
        raise RuntimeError("boom")

    engine.agent.handle_message = broken
    try:
        reply = await engine.reply(conversation_id, "someone keeps asking me for nudes")
    finally:
        engine.agent.handle_message = original
    assert reply.by == "error"
    assert "0800 1111" in reply.messages[0].text
    assert await engine.tracker_store.retrieve(conversation_id) is None


@pytest.mark.parametrize("concern", [c for c in CONCERNS if c != "talk_to_someone"])
async def test_the_way_out_is_one_tap_away_from_every_answer(engine, conversation_id, concern):
    reply = await engine.reply(conversation_id, f"/{concern}")
    payloads = {b.payload for m in reply.messages for b in m.buttons}
    assert {"/immediate_danger", "/talk_to_someone"} <= payloads


@pytest.mark.parametrize("text", ["help", "sos", "/help"])
async def test_help_works_in_the_middle_of_a_conversation(engine, conversation_id, text):
    await engine.reply(conversation_id, "how do i block someone")
    reply = await engine.reply(conversation_id, text)
    first = reply.messages[0].text
    assert "999" in first and "0800 1111" in first


def _component(engine, kind):
    runner = engine.agent.processor.graph_runner
    return next(node._component for node in runner._nodes.values() if isinstance(node._component, kind))


@checks_a_speedup
async def test_the_sequential_graph_runner_parses_exactly_as_rasas_dask_runner(engine, heldout):
    from rasa.core.channels.channel import UserMessage

    processor = engine.agent.processor
    sequential = processor.graph_runner
    texts = [row["text"] for row in heldout[:150]] + ["/greet", '/inform_platform{"platform":"tiktok"}', " "]
    ours = [await processor.parse_message(UserMessage(text)) for text in texts]
    processor.graph_runner = sequential.dask_runner
    try:
        rasas = [await processor.parse_message(UserMessage(text)) for text in texts]
    finally:
        processor.graph_runner = sequential
    assert ours == rasas


@checks_a_speedup
async def test_the_classifier_builds_rasas_feature_matrix_from_sentence_features_only(engine, heldout):
    from rasa.core.channels.channel import UserMessage
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

    from bot.rasa_ext.classifier import SentenceLogisticRegression, _each_part_to_length_one, _stacked

    runner = engine.agent.processor.graph_runner
    name, node = next(
        (n, node) for n, node in runner._nodes.items() if isinstance(node._component, SentenceLogisticRegression)
    )
    featurized = runner._schema.nodes[name].needs["messages"]  # the node whose messages the classifier reads
    messages = []
    for row in heldout[:100]:
        messages += runner.run(inputs={"__message__": [UserMessage(row["text"])]}, targets=[featurized])[featurized]
    classifier = node._component
    assert _stacked(messages) is not None  # the batch's matrix made in one go
    ours = classifier._features(messages)
    rasas = LogisticRegressionClassifier._create_X(classifier, messages)
    assert ours.shape == rasas.shape == (100, rasas.shape[1]) and (ours.tocsr() != rasas.tocsr()).nnz == 0
    # What the classifier reads is Rasa's matrix scaled (config.yml), the same either way.
    widths = [f.features.shape[1] for f in messages[0].features if f.type == "sentence" and f.is_sparse()]
    assert len(widths) == 2 and sum(widths) == rasas.shape[1]
    ours, rasas = classifier._create_X(messages), _each_part_to_length_one(rasas, widths)
    assert (ours != rasas).nnz == 0
    # The coefficients are stored column-major; Rasa's row-major copy gives bit-for-bit the same probabilities.
    as_rasa = copy.copy(classifier.clf)
    as_rasa.coef_ = np.ascontiguousarray(classifier.clf.coef_)
    assert classifier.clf.coef_.flags["F_CONTIGUOUS"] and not as_rasa.coef_.flags["F_CONTIGUOUS"]
    assert (classifier.clf.predict_proba(ours) == as_rasa.predict_proba(rasas)).all()
    for message in messages[:20]:  # one message at a time, as in a conversation
        one = classifier._create_X([message])
        rasas_one = _each_part_to_length_one(LogisticRegressionClassifier._create_X(classifier, [message]), widths)
        assert (classifier.clf.predict_proba(one) == as_rasa.predict_proba(rasas_one)).all()


@checks_a_speedup
def test_whether_the_domain_is_empty_is_worked_out_once(engine, monkeypatch):
    from rasa.shared.core.domain import Domain

    domain = engine.agent.processor.domain
    assert domain.is_empty() is Domain.is_empty(domain) is False
    monkeypatch.setattr(Domain, "as_dict", lambda self: pytest.fail("the domain was serialised again"))
    assert domain.is_empty() is False


@checks_a_speedup
async def test_the_featurizers_make_rasas_sentence_features_and_nothing_else(engine, heldout):
    from rasa.core.channels.channel import UserMessage
    from rasa.nlu.constants import TOKENS_NAMES
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.shared.nlu.constants import TEXT

    from bot.rasa_ext.classifier import SentenceCountVectorsFeaturizer

    runner = engine.agent.processor.graph_runner
    featurizers = [
        (name, node._component)
        for name, node in runner._nodes.items()
        if isinstance(node._component, SentenceCountVectorsFeaturizer)
    ]
    assert len(featurizers) == 2  # words and character n-grams
    tokenizer = runner._schema.nodes[featurizers[0][0]].needs["messages"]
    for row in heldout[:60]:
        [message] = runner.run(inputs={"__message__": [UserMessage(row["text"])]}, targets=[tokenizer])[tokenizer]
        tokens = [[t.text for t in message.get(TOKENS_NAMES[TEXT])]]
        for _, featurizer in featurizers:
            ours_sequence, ours_sentence = featurizer._create_features(TEXT, tokens)
            rasas_sequence, rasas_sentence = CountVectorsFeaturizer._create_features(featurizer, TEXT, tokens)
            assert ours_sequence == [None] and rasas_sequence[0] is not None
            assert (ours_sentence[0].tocsr() != rasas_sentence[0].tocsr()).nnz == 0


@checks_a_speedup
async def test_the_batched_featurizers_make_exactly_the_features_rasa_makes_one_message_at_a_time(engine):
    """bot/rasa_ext/speedups/featurizer.py: every message and every sentence of every long one, bit for bit."""
    from rasa.core.channels.channel import UserMessage
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.shared.nlu.constants import TEXT

    from bot import long_messages
    from bot.rasa_ext.classifier import SentenceCountVectorsFeaturizer
    from bot.rasa_ext.speedups import featurizer as batched
    from bot.settings import HELDOUT_FILE

    runner = engine.agent.processor.graph_runner
    names = [n for n, node in runner._nodes.items() if isinstance(node._component, SentenceCountVectorsFeaturizer)]
    assert all(runner._nodes[name]._fn is batched.process for name in names)
    tokenizer = runner._schema.nodes[names[0]].needs["messages"]
    texts = [
        json.loads(line)["text"]
        for path in sorted(HELDOUT_FILE.parent.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    texts += [piece for text in texts if long_messages.is_long(text) for piece in long_messages.split_sentences(text)]
    texts += ["", "   ", "🙂", "ÀÉÎ ok", "2 die 4 u", "x" * 300]
    compared = 0
    for start in range(0, len(texts), 8):  # batches, as the sentences of a long message come
        batch = [UserMessage(t) for t in texts[start : start + 8]]
        messages = runner.run(inputs={"__message__": batch}, targets=[tokenizer])[tokenizer]
        for name in names:
            featurizer = runner._nodes[name]._component
            ours = batched.process(featurizer, [copy.deepcopy(m) for m in messages])
            for message, featurized in zip(messages, ours):
                tokens = featurizer._get_processed_message_tokens_by_attribute(message, TEXT)
                _, (rasas,) = CountVectorsFeaturizer._create_features(featurizer, TEXT, [tokens])
                added = [f.features for f in featurized.features if f.origin == featurizer._identifier]
                if rasas is None:
                    assert added == []
                    continue
                (mine,) = added
                assert type(mine) is type(rasas) and mine.shape == rasas.shape and mine.dtype == rasas.dtype
                for a, b in ((mine.row, rasas.row), (mine.col, rasas.col), (mine.data, rasas.data)):
                    assert a.dtype == b.dtype and np.array_equal(a, b)
                compared += 1
    assert compared > 2000
