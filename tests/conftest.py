"""Shared fixtures: the trained engine is loaded once per test session (loading Rasa takes seconds)."""

import json
import uuid
from pathlib import Path

import pytest

from bot.privacy import configure_logging
from bot.settings import HELDOUT_FILE

UNIT = Path(__file__).resolve().parent / "unit"

configure_logging()

# Rasa and TensorFlow are imported only when a test needs them (tests/unit/ never does; tests/unit/conftest.py checks).


def pytest_collection_finish(session):
    """Rasa and TensorFlow imported before the tests run, when any test outside tests/unit/ is collected: their
    import-time deprecation warnings stay out of the test report, and no test's timing pays for the import."""
    if any(UNIT not in Path(str(item.fspath)).parents for item in session.items):
        import bot.engine  # noqa: F401


@pytest.fixture(scope="session")
def engine():
    """The real engine on the trained model (`make test` trains it first)."""
    from bot.engine import Engine

    return Engine.load()


@pytest.fixture(scope="module")
def rules():
    """The safety rules of both pattern files, without a model."""
    from bot.safety import SafetyRules
    from bot.settings import SAFETY_PATTERN_FILES

    return SafetyRules.from_paths(SAFETY_PATTERN_FILES)


@pytest.fixture(scope="module")
def component():
    """The safety net as a Rasa component with its default config, without a trained model."""
    from bot.rasa_ext.safety_net import SafetyNet

    return SafetyNet.create(SafetyNet.get_default_config(), None, None, None)


@pytest.fixture
def conversation_id():
    """A fresh conversation pseudonym for each test."""
    return uuid.uuid4().hex


@pytest.fixture(scope="session")
def heldout():
    """The held-out labelled messages (never used for training)."""
    with open(HELDOUT_FILE, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    """Signpost's wheel, built from this checkout and installed in a fresh venv outside it (tests/installed.py)."""
    from installed import build_and_install

    return build_and_install(tmp_path_factory.mktemp("installed"))
