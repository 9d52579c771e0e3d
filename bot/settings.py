"""Everything Signpost reads from the environment, and the project's paths, in one place."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.yml"
ENDPOINTS = ROOT / "endpoints.yml"
NLU_DIR = ROOT / "nlu"
RESPONSES_DIR = ROOT / "responses"
SERVICES_FILE = RESPONSES_DIR / "services.yml"
SAFETY_PATTERNS = NLU_DIR / "safety_patterns.jsonl"
HELDOUT_FILE = ROOT / "tests" / "data" / "heldout.jsonl"
MODELS_DIR = Path(os.environ.get("SIGNPOST_MODELS_DIR", ROOT / "models"))

# Rasa's own telemetry and error reporting stay off: nothing about a conversation leaves the machine.
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


def telegram_token() -> str:
    """The Telegram bot token, or an empty string when it is not set."""
    return os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()


def webhook_secret() -> str:
    """The webhook secret token, or an empty string (a random one is made at start)."""
    return os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip()


def stats_db() -> Path:
    """Where the anonymous counts live."""
    return Path(os.environ.get("SIGNPOST_STATS_DB", "signpost-stats.db"))


def crisis_moving_on_turns() -> int:
    """How many messages in a row about other concerns end a crisis (its 999 and Childline reminder); at least 1."""
    try:
        return max(1, int(os.environ.get("SIGNPOST_CRISIS_TURNS", "4")))
    except ValueError:
        return 4
