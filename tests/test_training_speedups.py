"""Training's speed-ups give the model Rasa's own code gives: the same features, the same numbers stored and loaded."""

import copy
import json

import numpy as np
import pytest
from rasa.core.channels.channel import UserMessage
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.training import graph_trainer
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_ext import classifier as classifier_module
from bot.rasa_ext.classifier import SentenceCountVectorsFeaturizer, SentenceLogisticRegression
from bot.rasa_ext.speedups.training import NoTrainingCache, without_training_cache
from bot.settings import HELDOUT_FILE, speedups

pytestmark = pytest.mark.skipif(not speedups(), reason="SIGNPOST_SPEEDUPS=0: no speed-up to check")


def _nodes(engine, kind):
    runner = engine.agent.processor.graph_runner
    found = [(name, node._component) for name, node in runner._nodes.items() if isinstance(node._component, kind)]
    return runner, found


def _tokenized(engine, texts):
    runner, featurizers = _nodes(engine, SentenceCountVectorsFeaturizer)
    tokenizer = runner._schema.nodes[featurizers[0][0]].needs["messages"]
    return runner.run(inputs={"__message__": [UserMessage(t) for t in texts]}, targets=[tokenizer])[tokenizer]


def test_training_data_is_featurized_in_one_batch_exactly_as_one_message_at_a_time(engine):
    texts = [json.loads(line)["text"] for line in HELDOUT_FILE.read_text(encoding="utf-8").splitlines()[:200]]
    messages = _tokenized(engine, texts + ["", "🙂", "x" * 300])
    _, featurizers = _nodes(engine, SentenceCountVectorsFeaturizer)
    for _, featurizer in featurizers:
        batched = featurizer.process_training_data(TrainingData(copy.deepcopy(messages))).training_examples
        one_by_one = CountVectorsFeaturizer.process(featurizer, copy.deepcopy(messages))  # Rasa's loop, a call each
        assert len(batched) == len(one_by_one) == len(messages)
        for ours, rasas in zip(batched, one_by_one):
            assert len(ours.features) == len(rasas.features)
            for a, b in zip(ours.features, rasas.features):
                assert (a.type, a.attribute, a.origin) == (b.type, b.attribute, b.origin)
                a, b = a.features, b.features
                assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
                assert all(np.array_equal(x, y) for x, y in ((a.row, b.row), (a.col, b.col), (a.data, b.data)))
        assert sum(len(m.features) for m in batched) > 150


@pytest.mark.parametrize("stock", [False, True], ids=["arrays", "rasas-skops"])
def test_the_classifier_is_stored_and_loaded_with_the_same_numbers(engine, tmp_path, monkeypatch, stock):
    _, [(name, trained)] = _nodes(engine, SentenceLogisticRegression)
    storage = LocalModelStorage(tmp_path)
    resource = Resource("classifier")
    context = ExecutionContext(GraphSchema({}), node_name=name)
    saved = SentenceLogisticRegression.create(trained.config, storage, resource, context)
    saved.clf = copy.deepcopy(trained.clf)
    if stock:  # a model trained with the speed-ups off: Rasa's own file, which the load still reads
        monkeypatch.setenv("SIGNPOST_SPEEDUPS", "0")
    saved.persist()
    monkeypatch.delenv("SIGNPOST_SPEEDUPS", raising=False)
    with storage.read_from(resource) as folder:
        assert (folder / classifier_module.ARRAYS).exists() is not stock
    loaded = SentenceLogisticRegression.load(trained.config, storage, resource, context)
    assert loaded.clf.coef_.flags["F_CONTIGUOUS"]
    for attribute in ("coef_", "intercept_", "classes_", "n_iter_"):
        assert np.array_equal(getattr(loaded.clf, attribute), getattr(trained.clf, attribute)), attribute
    X = trained._create_X(_tokenized_and_featurized(engine, ["he wants pics", "i want to die", "hi"]))
    assert (loaded.clf.predict_proba(X) == trained.clf.predict_proba(X)).all()


def _tokenized_and_featurized(engine, texts):
    runner, [(name, _)] = _nodes(engine, SentenceLogisticRegression)
    featurized = runner._schema.nodes[name].needs["messages"]
    return runner.run(inputs={"__message__": [UserMessage(t) for t in texts]}, targets=[featurized])[featurized]


def test_a_forced_training_leaves_rasas_cache_hook_out_and_puts_it_back(monkeypatch):
    stock = graph_trainer.TrainingHook
    with without_training_cache():
        assert graph_trainer.TrainingHook is NoTrainingCache
        hook = graph_trainer.TrainingHook(cache=None, model_storage=None, pruned_schema=None)
        assert hook.on_before_node("node", None, {}, {"training_data": object()}) == {}
    assert graph_trainer.TrainingHook is stock
    monkeypatch.setenv("SIGNPOST_SPEEDUPS", "0")
    with without_training_cache():
        assert graph_trainer.TrainingHook is stock
