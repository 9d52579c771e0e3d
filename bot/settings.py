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


def default_stats_db() -> Path:
    """The statistics database's fixed default: the user's data folder (XDG), `~/.local/share/signpost/stats.db`."""
    data_home = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(data_home) if data_home and Path(data_home).is_absolute() else Path.home() / ".local" / "share"
    return base / "signpost" / "stats.db"


def stats_db() -> Path:
    """Where the anonymous counts live: SIGNPOST_STATS_DB (the service's settings), or `default_stats_db()`."""
    configured = os.environ.get("SIGNPOST_STATS_DB", "").strip()
    return Path(configured).expanduser() if configured else default_stats_db()
