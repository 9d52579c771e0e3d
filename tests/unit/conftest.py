"""tests/unit/ needs no Rasa: run on their own, these tests must not have imported it (nor TensorFlow)."""

import sys

import pytest

HEAVY = ("rasa", "tensorflow")


def pytest_collection_finish(session):
    unit = [item for item in session.items if "/tests/unit/" in str(item.fspath)]
    if unit and len(unit) == len(session.items):
        loaded = sorted(name for name in HEAVY if name in sys.modules)
        if loaded:
            raise pytest.UsageError(f"a test in tests/unit/ imported {', '.join(loaded)}: move it up to tests/")
