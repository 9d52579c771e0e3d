"""Rasa's own checks: the training data validates with no warnings, and the conversation tests pass."""

import subprocess
import sys
from pathlib import Path

from bot.model_files import latest_model
from bot.settings import CONFIG, NLU_DIR, RESPONSES_DIR, ROOT

RASA = str(Path(sys.executable).with_name("rasa"))
TESTS = Path(__file__).parent


def rasa(*args, cwd):
    return subprocess.run([RASA, *args], capture_output=True, text=True, timeout=600, cwd=cwd)


def test_training_data_validates_without_warnings(tmp_path):
    result = rasa(
        "data",
        "validate",
        "--domain",
        str(RESPONSES_DIR),
        "--data",
        str(NLU_DIR),
        "--config",
        str(CONFIG),
        "--fail-on-warnings",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_conversation_tests_pass(tmp_path):
    # --e2e makes Rasa classify each story's real `user:` line instead of trusting the intent written under it.
    stories = sorted(TESTS.glob("test_*.yml"))
    assert stories, "no Rasa conversation tests found"
    result = rasa(
        "test",
        "core",
        "--stories",
        str(TESTS),
        "--model",
        str(latest_model()),
        "--endpoints",
        str(ROOT / "endpoints.yml"),
        "--e2e",
        "--fail-on-prediction-errors",
        "--out",
        str(tmp_path / "results"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
