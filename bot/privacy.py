"""Signpost's privacy layer: nothing a young person types is kept, logged or linked to who they are.

- `configure_logging()` sets up logging once for the whole program: no debug output from Rasa (its structlog debug
  events carry the message text), python-telegram-bot or httpx (its request lines carry the bot token), and Rasa's
  telemetry and error reporting off.
- `Pseudonymiser` turns a channel's id (a Telegram chat id) into a conversation id with a keyed HMAC. The key is random,
  lives in memory only and is replaced every UTC day, so a conversation id can't be linked back to a chat, or to the
  same chat on another day.
- `bot.rasa_ext.tracker_store.RedactingTrackerStore` is the Rasa tracker store: it keeps intents, the app name from the
  closed list, slots and actions, never text, in memory only, for a bounded number of conversations and at most 30 idle
  minutes.

- `scrubbing_environment()` / `restart_scrubbing()`: freed memory is overwritten at once in both processes, so
  text that was let go of can't be read out of memory later (issue 14).

This module imports nothing of Rasa, so the Telegram process can use it without loading Rasa.

docs/privacy.md lists exactly what is kept, where and for how long.
"""

from __future__ import annotations

import ctypes
import hashlib
import hmac
import logging
import os
import re
import resource
import secrets
import sys
import threading
from datetime import date, datetime, timezone
from typing import Any, Callable, Dict, Optional

logger = logging.getLogger(__name__)

# Libraries whose debug or info output could carry message text, ids or the bot token.
QUIET_LOGGERS = (
    "rasa",
    "telegram",
    "httpx",
    "httpcore",
    "apscheduler",
    "sanic",
    "tensorflow",
    "absl",
    "matplotlib",
)
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"

# Libraries whose log records may carry an update, a message or a request (python-telegram-bot logs an update it
# can't read at CRITICAL, whole). Whatever their level, their records keep only the fixed text of the library's
# own format string: no arguments, no exception message, no second line (see `_content_free_record`).
LIBRARY_LOGGERS = ("telegram", "httpx", "httpcore", "apscheduler", "aiohttp", "aiolimiter", "asyncio", "tornado")
_PLACEHOLDER = re.compile(r"%(\([^)]*\))?[-#0 +]*(\*|\d+)?(\.(\*|\d+))?[hlL]?[diouxXeEfFgGcrsa]")


class ContentFreeFormatter(logging.Formatter):
    """Plain log lines; an exception shows only its type and where it was raised, never its message or locals."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        error_type, _, tb = ei
        where = ""
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            where = f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"
        return f"  {error_type.__name__ if error_type else 'error'}{where}"

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return ""


_handler_lock = threading.Lock()
_handler: Optional[logging.Handler] = None
_record_factory_installed = False


def _is_library(name: str) -> bool:
    return name.split(".", 1)[0] in LIBRARY_LOGGERS


def content_free(record: logging.LogRecord) -> logging.LogRecord:
    """A library's log record reduced to the fixed text of its format string (placeholders shown as "..."), its
    first line only, and the type of any exception: nothing it was given can reach a log."""
    text = (record.msg if isinstance(record.msg, str) else f"<{type(record.msg).__name__}>").split("\n", 1)[0]
    if record.args:  # the format string's own text stays; what it was given does not
        text = _PLACEHOLDER.sub("...", text).replace("%%", "%")
    if record.exc_info:
        error_type = record.exc_info[0] if isinstance(record.exc_info, tuple) else type(record.exc_info)
        text += f" ({getattr(error_type, '__name__', 'error')})"
    record.msg, record.args = text, ()
    record.exc_info = record.exc_text = record.stack_info = None
    return record


def _install_record_factory() -> None:
    """Every log record made in this process, by any logger and for any handler, is made content-free if it
    comes from one of LIBRARY_LOGGERS (a filter on a logger would miss its children; this misses nothing)."""
    global _record_factory_installed
    if _record_factory_installed:
        return
    make = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        return content_free(record) if _is_library(record.name) else record

    logging.setLogRecordFactory(factory)
    _record_factory_installed = True


def no_core_dumps() -> None:
    """No core dump of this process (RLIMIT_CORE 0) and not dumpable (PR_SET_DUMPABLE 0: no core even if the
    limit is raised, and other processes of the same user can't read its memory), so text held for a turn can't
    end up in a file. Children inherit the limit."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):  # not Linux: the resource limit still applies
        pass


# Freed memory, overwritten: Python's own small-object allocator never clears a freed block, and glibc's malloc
# only when told to (its `perturb` setting) and not for the chunks it keeps in its per-thread cache. So both
# processes run with Python's objects on malloc, malloc's cache off, and every freed chunk filled with one byte.
# Measured (benchmarks/faults.py, 20 canary chats forgotten, then 100 turns): copies of typed text readable in
# /proc/PID/mem went from 0-3 of 20 to 0; an engine turn took about as long (README, "Faults").
SCRUB_TUNABLES = ("glibc.malloc.perturb=165", "glibc.malloc.tcache_count=0")


def scrubbing_environment(environ: Dict[str, str]) -> Dict[str, str]:
    """`environ` with the settings that overwrite freed memory, unless SIGNPOST_SCRUB_MEMORY is 0 (for measuring)."""
    environment = dict(environ)
    if environment.get("SIGNPOST_SCRUB_MEMORY", "1").strip().lower() in {"0", "false", "no", "off"}:
        return environment
    names = tuple(tunable.split("=")[0] + "=" for tunable in SCRUB_TUNABLES)
    kept = [t for t in environment.get("GLIBC_TUNABLES", "").split(":") if t and not t.startswith(names)]
    environment["GLIBC_TUNABLES"] = ":".join([*kept, *SCRUB_TUNABLES])
    environment["PYTHONMALLOC"] = "malloc"
    return environment


def restart_scrubbing() -> None:
    """Start this process again, in place and at once, with `scrubbing_environment()` if it lacks it: both
    settings are read only when a process starts. Only for a process started as a command (its whole command
    line is run again); call it before anything else happens."""
    wanted = scrubbing_environment(dict(os.environ))
    if wanted != dict(os.environ) and getattr(sys, "orig_argv", None):
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, sys.orig_argv, wanted)


def configure_logging() -> None:
    """Set up logging for the whole program. Safe to call more than once; call it before using Rasa."""
    global _handler
    # Rasa's telemetry and its sentry error reporting (which is only switched on when telemetry is) stay off.
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    # TensorFlow's C++ side: errors only.
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

    root = logging.getLogger()
    _install_record_factory()
    with _handler_lock:
        if _handler is None and not root.handlers:
            _handler = logging.StreamHandler()
            _handler.setFormatter(ContentFreeFormatter(LOG_FORMAT))
            root.addHandler(_handler)
    root.setLevel(logging.WARNING)
    for name in QUIET_LOGGERS:
        quiet = logging.getLogger(name)
        if quiet.level == logging.NOTSET or quiet.level < logging.WARNING:
            quiet.setLevel(logging.WARNING)
    # matplotlib warns about its own style files under newer pyparsing; nothing a moderator can act on.
    logging.getLogger("matplotlib").setLevel(logging.ERROR)

    # Rasa logs through structlog. Its debug events carry the parsed message text, and some of its warnings and
    # errors carry `text`, `user_text`, whole events, or tracebacks with local variables. So: nothing below
    # WARNING, and what passes keeps only the event's name, its fixed description and the error type.
    import structlog

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            _content_free,
            structlog.processors.KeyValueRenderer(key_order=["event", "event_info", "error"], drop_missing=True),
        ],
        context_class=dict,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        cache_logger_on_first_use=True,
    )


# Rasa's structlog event names and descriptions are fixed strings in its code; every other field may hold content.
_STRUCTLOG_KEEP = ("event", "event_info")


def _content_free(_: Any, __: str, event_dict: Dict[str, Any]) -> Dict[str, Any]:
    """A structlog processor: keep the event's name and description, and only the type of an exception."""
    kept = {key: event_dict[key] for key in _STRUCTLOG_KEEP if key in event_dict}
    exc_info = event_dict.get("exc_info")
    if exc_info:
        if exc_info is True:
            exc_info = sys.exc_info()
        error = exc_info if isinstance(exc_info, BaseException) else exc_info[1]
        if error is not None:
            kept["error"] = type(error).__name__
    return kept


# ---------------------------------------------------------------------------------------------------------------
# Pseudonyms


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Pseudonymiser:
    """Conversation ids from channel ids: HMAC-SHA256 with a random key held in memory and replaced every UTC day.

    `clock` returns an aware datetime (UTC); tests inject their own.
    """

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._day: Optional[date] = None
        self._key = b""

    def _current_key(self) -> bytes:
        today = self._clock().astimezone(timezone.utc).date()
        with self._lock:
            if today != self._day:
                self._key = secrets.token_bytes(32)
                self._day = today
            return self._key

    def pseudonym(self, channel: str, channel_id: Any) -> str:
        """A stable id for this channel's conversation today; not reversible without today's key."""
        message = f"{channel}\x00{channel_id}".encode()
        return hmac.new(self._current_key(), message, hashlib.sha256).hexdigest()[:32]

    def __repr__(self) -> str:  # never show the key
        return f"<Pseudonymiser day={self._day}>"
