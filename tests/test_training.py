"""Training: deterministic, and skipped when nothing it reads has changed."""

import asyncio
import io
import re

import pytest

from bot import model_files, settings
from bot.engine import Engine
from bot.tools import training

SAMPLE = [
    "someone on snap keeps asking me for nudes",
    "he says he'll post my pics unless i pay him",
    "how do i block someone on roblox",
    "hiya",
    "what's the capital of france",
]


def test_a_model_for_the_current_data_is_reused_not_retrained(monkeypatch):
    import rasa.api

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although nothing changed")

    monkeypatch.setattr(rasa.api, "train", no_training)
    assert training.train() == training.model_path()


def test_the_fingerprint_changes_when_training_data_changes(tmp_path, monkeypatch):
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "a.yml").write_text("nlu: []\n")
    monkeypatch.setattr(model_files, "NLU_DIR", nlu)
    monkeypatch.setattr(model_files, "RESPONSES_DIR", nlu)
    monkeypatch.setattr(model_files, "ROOT", tmp_path)
    monkeypatch.setattr(model_files, "CONFIG", nlu / "a.yml")
    before = model_files.fingerprint()
    (nlu / "a.yml").write_text("nlu: [x]\n")
    assert model_files.fingerprint() != before
    # The code of a trained component is an input too.
    component = tmp_path / model_files.TRAINED_COMPONENTS[0]
    component.parent.mkdir(parents=True)
    component.write_text("# v1\n")
    before = model_files.fingerprint()
    component.write_text("# v2\n")
    assert model_files.fingerprint() != before


def test_the_channel_texts_are_read_at_run_time_not_trained_on():
    # Rasa skips responses/channel.yml (no domain key: tests/test_responses.py); a changed word keeps the model.
    inputs = list(model_files.training_inputs())
    assert settings.CHANNEL_TEXTS_FILE.is_file() and settings.CHANNEL_TEXTS_FILE not in inputs
    assert settings.RESPONSES_DIR / "domain.yml" in inputs


@pytest.mark.slow  # trains a model from scratch
def test_training_again_gives_the_same_model_and_says_so_quietly(tmp_path, monkeypatch, engine, capfd):
    monkeypatch.setattr(model_files, "MODELS_DIR", tmp_path)
    progress = io.StringIO()
    fresh = Engine.load(training.train(force=True, out=progress))
    # One plain line per step (its name, then how long it took), no bars, no colours, nothing else printed.
    lines = progress.getvalue().splitlines()
    steps = [line for line in lines if re.match(r"^ +\d+\. \w+( \.\.\. [\d.]+ s|: unchanged, from the cache)$", line)]
    assert any("SentenceLogisticRegression" in line for line in steps), lines
    assert len(lines) == len(steps) + 2, lines  # plus "Training the model ..." and "Trained in N s."
    out, err = capfd.readouterr()
    assert "\x1b[" not in progress.getvalue() + out + err and "it/s" not in out + err and "\r" not in out + err

    async def classify_all(e):
        return [await e.classify(text) for text in SAMPLE]

    assert asyncio.run(classify_all(fresh)) == asyncio.run(classify_all(engine))
