"""Train the Rasa model when, and only when, the training data or config changed.

The model's file name carries a fingerprint of every input, so `make test` twice trains once.
"""

import hashlib
import os
from pathlib import Path
from typing import Iterable

from bot.settings import CONFIG, MODELS_DIR, NLU_DIR, RESPONSES_DIR, ROOT

MODEL_PREFIX = "signpost-"


def training_inputs() -> Iterable[Path]:
    """Every file Rasa trains from (the safety patterns and services are read at run time instead)."""
    yield CONFIG
    for folder in (NLU_DIR, RESPONSES_DIR):
        yield from sorted(folder.rglob("*.yml"))


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


def latest_model() -> Path:
    """The model for the current inputs, or the newest one there is if the inputs changed since."""
    current = model_path()
    if current.exists():
        return current
    models = sorted(MODELS_DIR.glob(f"{MODEL_PREFIX}*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise FileNotFoundError("No trained model: run `signpost train` (or `make chat`) first.")
    return models[-1]


def train(force: bool = False) -> Path:
    """Train a model for the current inputs unless one exists; returns its path."""
    target = model_path()
    if target.exists() and not force:
        return target
    # Rasa's component cache lives in the project, wherever the command is run from.
    os.environ.setdefault("RASA_CACHE_DIRECTORY", str(ROOT / ".rasa" / "cache"))
    from rasa.api import train as rasa_train

    result = rasa_train(
        domain=str(RESPONSES_DIR),
        config=str(CONFIG),
        training_files=[str(NLU_DIR)],
        output=str(MODELS_DIR),
        fixed_model_name=target.name[: -len(".tar.gz")],
        force_training=True,
    )
    if result.code != 0 or not target.exists():
        raise RuntimeError(f"Rasa training failed (code {result.code}).")
    for old in MODELS_DIR.glob(f"{MODEL_PREFIX}*.tar.gz"):
        if old != target:
            old.unlink()
    return target
