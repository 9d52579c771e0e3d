"""Everything Signpost reads from the environment, the project's paths, and how long it keeps what it keeps.

Two ways to run: from a checkout (the source tree, as `make` sets it up), where training reads `config.yml`, `nlu/`
and `responses/`; or from an installed wheel (`pip install .`), which has no checkout. What a running bot reads
besides the model (the reviewed services file, the channel texts and the safety patterns) is copied into the
package, `bot/data/`, when the wheel is built (setup.py); in a checkout the files themselves are read. Where the
model is found: `--model PATH` or `SIGNPOST_MODEL` (a model file, or a folder holding models), else `models/` in a
checkout, else `$XDG_DATA_HOME/signpost/models` (`~/.local/share/signpost/models`) for an installed wheel.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent
# A checkout has the training data beside the package; an installed wheel (site-packages) does not.
IN_CHECKOUT = (ROOT / "pyproject.toml").is_file() and (ROOT / "nlu").is_dir()
# The run-time files a wheel carries (copied there at build time from the checkout's files named below).
PACKAGE_DATA = PACKAGE_DIR / "data"
RUNTIME_FILES = ("responses/services.yml", "responses/channel.yml", "nlu/safety_patterns*.jsonl")

CONFIG = ROOT / "config.yml"
ENDPOINTS = ROOT / "endpoints.yml"
NLU_DIR = ROOT / "nlu"
RESPONSES_DIR = ROOT / "responses"
SERVICES_FILE = (RESPONSES_DIR if IN_CHECKOUT else PACKAGE_DATA) / "services.yml"
# The words the code says itself, outside the Rasa domain (bot/channel_texts.py).
CHANNEL_TEXTS_FILE = (RESPONSES_DIR if IN_CHECKOUT else PACKAGE_DATA) / "channel.yml"
SAFETY_PATTERNS = (NLU_DIR if IN_CHECKOUT else PACKAGE_DATA) / "safety_patterns.jsonl"
# Crisis words in other languages, one row per pattern with its language and source (loaded with the main file).
SAFETY_PATTERNS_LANGUAGES = (NLU_DIR if IN_CHECKOUT else PACKAGE_DATA) / "safety_patterns_languages.jsonl"
SAFETY_PATTERN_FILES = (SAFETY_PATTERNS, SAFETY_PATTERNS_LANGUAGES)
HELDOUT_FILE = ROOT / "tests" / "data" / "heldout.jsonl"


def user_data_dir() -> Path:
    """The user's data folder for Signpost (models of an installed wheel, the statistics): $XDG_DATA_HOME/signpost
    (an absolute path, as the XDG spec asks) or ~/.local/share/signpost."""
    base = os.environ.get("XDG_DATA_HOME", "").strip()
    return (Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share") / "signpost"


# How long what is kept is kept. The privacy text (responses/channel.yml) says these, filled in from here.
# The engine forgets a conversation (its topics and actions, never text) after this long without a message
# (bot/rasa_ext/tracker_store.py); Rasa's session_expiration_time in responses/domain.yml is the same.
CONVERSATION_KEPT = timedelta(minutes=30)
# The Telegram process keeps a chat's message ids (numbers only) this long, so /exit can delete the chat: Telegram
# lets a bot delete the messages of a private chat for 48 hours (bot/channels/telegram/chat_memory.py).
MESSAGE_IDS_KEPT = timedelta(hours=48)

MODELS_DIR = Path(
    os.environ.get("SIGNPOST_MODELS_DIR") or (ROOT / "models" if IN_CHECKOUT else user_data_dir() / "models")
)

# Rasa's own telemetry and error reporting stay off: nothing about a conversation leaves the machine.
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


def model_setting() -> str:
    """SIGNPOST_MODEL (set by --model too): a model file or a folder of models; empty when not set."""
    return os.environ.get("SIGNPOST_MODEL", "").strip()


def telegram_token() -> str:
    """The Telegram bot token, or an empty string when it is not set."""
    return os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()


def webhook_secret() -> str:
    """The webhook secret token, or an empty string (a random one is made at start)."""
    return os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip()


def default_stats_db() -> Path:
    """The statistics database's fixed default: the user's data folder (XDG), `~/.local/share/signpost/stats.db`."""
    return user_data_dir() / "stats.db"


def stats_db() -> Path:
    """Where the anonymous counts live: SIGNPOST_STATS_DB (the service's settings), or `default_stats_db()`."""
    configured = os.environ.get("SIGNPOST_STATS_DB", "").strip()
    return Path(configured).expanduser() if configured else default_stats_db()


def run_dir() -> Path:
    """Where the running bot leaves its statistics writer's state for `signpost stats` (bot/stats/status.py):
    SIGNPOST_RUN_DIR, else $XDG_RUNTIME_DIR/signpost, else signpost-<uid> in the temporary folder. Not the
    database's folder: the faults worth reporting are the ones where that folder is gone, read-only or full."""
    configured = os.environ.get("SIGNPOST_RUN_DIR", "").strip()
    if configured:
        return Path(configured).expanduser()
    runtime = os.environ.get("XDG_RUNTIME_DIR", "").strip()
    if runtime and Path(runtime).is_absolute():
        return Path(runtime) / "signpost"
    return Path(tempfile.gettempdir()) / f"signpost-{os.getuid()}"


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


def speedups() -> bool:
    """Whether the engine uses its speed-ups of Rasa's internals (bot/rasa_ext/speedups/README.md):
    `SIGNPOST_SPEEDUPS=0` gives stock Rasa's behaviour, with the same answers, only slower. Default on."""
    return os.environ.get("SIGNPOST_SPEEDUPS", "1").strip().lower() not in {"0", "false", "no", "off"}


# Environment variables only the Telegram process may see: the engine process is started without them.
SECRET_ENVIRONMENT = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET")


def crisis_moving_on_turns() -> int:
    """How many messages in a row about other concerns end a crisis (its 999 and Childline reminder); at least 1."""
    try:
        return max(1, int(os.environ.get("SIGNPOST_CRISIS_TURNS", "4")))
    except ValueError:
        return 4
