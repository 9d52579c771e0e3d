"""Debug-log copies skipped (bot/rasa_ext/speedups/log_copies.py): only where every copy is a debug argument,
only while debug events are dropped, and the same answers either way."""

import copy
import importlib
import importlib.util
import uuid

import pytest
import structlog
from test_prediction_cache import random_conversations

from bot.rasa_ext.speedups import log_copies
from bot.settings import speedups


def _module(tmp_path, source):
    path = tmp_path / f"m{uuid.uuid4().hex}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_only_modules_whose_every_copy_is_a_debug_argument_qualify(tmp_path):
    assert all(log_copies.only_debug_copies(importlib.import_module(name)) for name in log_copies.MODULES)
    debug_only = "import copy\nimport structlog\nlog = structlog.get_logger()\nlog.debug('x', y=copy.deepcopy([1]))\n"
    assert log_copies.only_debug_copies(_module(tmp_path, debug_only))
    kept = debug_only + "z = copy.deepcopy([2])\n"  # a copy the module keeps
    assert not log_copies.only_debug_copies(_module(tmp_path, kept))
    assert not log_copies.only_debug_copies(_module(tmp_path, debug_only + "w = copy.copy([3])\n"))
    assert not log_copies.only_debug_copies(importlib.import_module("rasa.core.actions.action"))


def test_a_copy_is_made_whenever_debug_events_are_written():
    value = {"events": [{"a": 1}]}
    assert log_copies.debug_dropped(), "Signpost's logging drops Rasa's debug events"
    assert log_copies.DebugCopies.deepcopy(value) is value
    config = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(10))  # DEBUG
    try:
        copied = log_copies.DebugCopies.deepcopy(value)
        assert copied == value and copied is not value and copied["events"][0] is not value["events"][0]
    finally:
        structlog.configure(**config)
    assert log_copies.debug_dropped()


@pytest.mark.skipif(not speedups(), reason="SIGNPOST_SPEEDUPS=0: nothing installed")
async def test_the_same_answers_with_and_without(engine):
    conversations = random_conversations(engine, 60, 12)
    processor, cache = engine.agent.processor, engine.predictions
    processor._predict_next_with_tracker = cache.uncached  # every prediction through the policies' debug lines

    async def answers():
        played = []
        for turns in conversations:
            conversation_id = uuid.uuid4().hex
            played.append([(await engine.reply(conversation_id, text)).messages for text in turns])
        return played

    try:
        assert log_copies.install() == list(log_copies.MODULES)
        ours = await answers()
        log_copies.uninstall()
        assert all(importlib.import_module(name).copy is copy for name in log_copies.MODULES)
        assert await answers() == ours
    finally:
        log_copies.install()
        processor._predict_next_with_tracker = cache
