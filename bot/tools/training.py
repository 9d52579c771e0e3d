"""`signpost train`: train the Rasa model when, and only when, the training data or config changed.

The model's file name carries a fingerprint of every input (bot/model_files.py), so `make test` twice trains once.
Training reads the checkout (config.yml, nlu/, responses/); running needs only a model.
"""

import contextlib
import io
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Optional, TextIO, Tuple

from bot import settings
from bot.model_files import MODEL_PREFIX, model_path
from bot.settings import CONFIG, NLU_DIR, RESPONSES_DIR, ROOT

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


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
        raise FileNotFoundError(
            "Training reads the checkout (config.yml, nlu/, responses/): run it from the source "
            "tree, then copy the model to the server (see docs/deploy.md)."
        )
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

    from bot.rasa_ext.speedups.training import without_training_cache

    with _quiet_rasa(out) as printed, without_training_cache():
        result = rasa_train(
            domain=str(RESPONSES_DIR),
            config=str(CONFIG),
            training_files=[str(NLU_DIR)],
            output=str(target.parent),
            fixed_model_name=target.name[: -len(".tar.gz")],
            force_training=True,
        )
    if result.code != 0 or not target.exists():
        out.write(ANSI.sub("", printed.getvalue()))
        raise RuntimeError(f"Rasa training failed (code {result.code}).")
    out.write(f"Trained in {time.monotonic() - started:.0f} s.\n")
    for old in target.parent.glob(f"{MODEL_PREFIX}*.tar.gz"):
        if old != target:
            old.unlink()
    return target
