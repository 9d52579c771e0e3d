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


def _number(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    try:
        return float(value) if value else default
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds or messages, not {value!r}.") from None


def turn_deadline() -> float:
    """Seconds a young person waits at most for the engine's answer; past it they get 999 and Childline, and a
    hung engine is restarted (`SIGNPOST_TURN_DEADLINE`, default 5)."""
    return _number("SIGNPOST_TURN_DEADLINE", 5.0)


def telegram_rate() -> float:
    """Bot API requests a second, throttled ahead of Telegram's limit (`SIGNPOST_TELEGRAM_RATE`, default 30;
    0 for no throttling, e.g. against a test server)."""
    return _number("SIGNPOST_TELEGRAM_RATE", 30.0)


# Environment variables only the Telegram process may see: the engine process is started without them.
SECRET_ENVIRONMENT = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET")
