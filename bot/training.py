"""Train the Rasa model when, and only when, the training data or config changed; and find the model to run.

The model's file name carries a fingerprint of every input, so `make test` twice trains once. Training reads the
checkout (config.yml, nlu/, responses/); running needs only a model (see bot/settings.py for where it is found).
"""

import contextlib
import hashlib
import io
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Iterable, Optional, TextIO, Tuple

from bot import settings
from bot.settings import CONFIG, MODELS_DIR, NLU_DIR, RESPONSES_DIR, ROOT

# The project's Rasa components that learn from the training data (config.yml names them), and the safety rules the
# safety net's stored words are for (a folder stands for every .py file in it).
TRAINED_COMPONENTS = ("bot/rasa_ext/classifier.py", "bot/rasa_ext/safety_net.py", "bot/safety")
MODEL_PREFIX = "signpost-"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def training_inputs() -> Iterable[Path]:
    """Every file Rasa trains from (the safety patterns and services are read at run time instead), and the code of
    the project's own trained components, whose output the model stores."""
    yield CONFIG
    for folder in (NLU_DIR, RESPONSES_DIR):
        yield from sorted(folder.rglob("*.yml"))
    for path in (ROOT / name for name in TRAINED_COMPONENTS):
        if path.is_dir():
            yield from sorted(path.rglob("*.py"))
        elif path.exists():
            yield path


def fingerprint() -> str:
    """A short hash of the names and contents of all training inputs."""
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path() -> Path:
    """Where the model for the current training inputs lives (it may not exist yet)."""
    return MODELS_DIR / f"{MODEL_PREFIX}{fingerprint()}.tar.gz"


def _newest(folder: Path) -> Optional[Path]:
    models = sorted(folder.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    ours = [m for m in models if m.name.startswith(MODEL_PREFIX)]
    return (ours or models or [None])[-1]


def latest_model() -> Path:
    """The model to run: SIGNPOST_MODEL (--model) if set; else, in a checkout, the model for the current inputs
    or the newest there is if they changed since; else the newest in the models folder."""
    given = settings.model_setting()
    if given:
        path = Path(given).expanduser()
        found = path if path.is_file() else _newest(path)
        if found is None:
            raise FileNotFoundError(f"No model at {path} (SIGNPOST_MODEL or --model: a .tar.gz file or a folder).")
        return found
    if settings.IN_CHECKOUT:
        current = model_path()
        if current.exists():
            return current
    found = _newest(MODELS_DIR)
    if found is None:
        how = ("run `signpost train` (or `make chat`) first" if settings.IN_CHECKOUT else
               "give one with --model PATH or SIGNPOST_MODEL, or copy it there (see docs/deploy.md)")
        raise FileNotFoundError(f"No trained model in {MODELS_DIR}: {how}.")
    return found


class _Progress(logging.Handler):
    """Rasa's per-component training log lines as one plain line per step: its name when it starts (so the slow
    classifier fit is never silent), how long it took when it ends. Rasa trains one component at a time."""

    START = re.compile(r"^Starting to train component '(\w+)'")
    DONE = re.compile(r"^Finished training component '(\w+)'")
    CACHED = re.compile(r"^Restored component '(\w+)' from cache")

    def __init__(self, out: TextIO) -> None:
        super().__init__(logging.INFO)
        self.out = out
        self.steps = 0
        self._running: Optional[Tuple[str, float]] = None

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        start, done, cached = (p.match(message) for p in (self.START, self.DONE, self.CACHED))
        if start:
            self.steps += 1
            self._running = (start[1], time.monotonic())
            self.out.write(f"  {self.steps:2d}. {start[1]} ...")
        elif done and self._running and self._running[0] == done[1]:
            self.out.write(f" {time.monotonic() - self._running[1]:.1f} s\n")
            self._running = None
        elif cached:
            self.steps += 1
            self.out.write(f"  {self.steps:2d}. {cached[1]}: unchanged, from the cache\n")
        else:
            return
        self.out.flush()


@contextlib.contextmanager
def _quiet_rasa(out: TextIO):
    """Rasa's progress bars off, its coloured prints caught (shown plain if training fails), one line per step."""
    saved_env = {key: os.environ.get(key) for key in ("LOG_LEVEL", "TQDM_DISABLE")}
    os.environ["LOG_LEVEL"] = "WARNING"  # rasa.shared.utils.io.is_logging_disabled(): no tqdm bars
    os.environ["TQDM_DISABLE"] = "1"  # and any other tqdm bar
    hooks = logging.getLogger("rasa.engine.training.hooks")
    saved = (hooks.level, hooks.propagate, list(hooks.handlers))
    hooks.handlers = [_Progress(out)]
    hooks.setLevel(logging.INFO)
    hooks.propagate = False
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            yield printed
    finally:
        hooks.setLevel(saved[0])
        hooks.propagate = saved[1]
        hooks.handlers = saved[2]
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def train(force: bool = False, out: Optional[TextIO] = None) -> Path:
    """Train a model for the current inputs unless one exists; returns its path. Progress goes to `out`."""
    if not settings.IN_CHECKOUT:
        raise FileNotFoundError("Training reads the checkout (config.yml, nlu/, responses/): run it from the source "
                                "tree, then copy the model to the server (see docs/deploy.md).")
    out = out or sys.stderr
    target = model_path()
    if target.exists() and not force:
        return target
    # Rasa's component cache lives in the project, wherever the command is run from.
    os.environ.setdefault("RASA_CACHE_DIRECTORY", str(ROOT / ".rasa" / "cache"))
    out.write("Training the model (the training data or config changed; about a minute)...\n")
    out.flush()
    started = time.monotonic()
    from rasa.api import train as rasa_train

    with _quiet_rasa(out) as printed:
        result = rasa_train(
            domain=str(RESPONSES_DIR),
            config=str(CONFIG),
            training_files=[str(NLU_DIR)],
            output=str(MODELS_DIR),
            fixed_model_name=target.name[: -len(".tar.gz")],
            force_training=True,
        )
    if result.code != 0 or not target.exists():
        out.write(ANSI.sub("", printed.getvalue()))
        raise RuntimeError(f"Rasa training failed (code {result.code}).")
    out.write(f"Trained in {time.monotonic() - started:.0f} s.\n")
    for old in MODELS_DIR.glob(f"{MODEL_PREFIX}*.tar.gz"):
        if old != target:
            old.unlink()
    return target

