"""Which trained model to run, and the fingerprint of the training inputs that names a model.

The model's file name carries a fingerprint of every input, so `make test` twice trains once (bot/tools/training.py
trains). Running needs only a model (see bot/settings.py for where it is found); no Rasa is imported here.
"""

import hashlib
from pathlib import Path
from typing import Iterable, Optional

from bot import settings
from bot.settings import CHANNEL_TEXTS_FILE, CONFIG, MODELS_DIR, NLU_DIR, RESPONSES_DIR, ROOT

# The project's Rasa components that learn from the training data (config.yml names them), and the safety rules the
# safety net's stored words are for (a folder stands for every .py file in it).
TRAINED_COMPONENTS = (
    "bot/rasa_ext/classifier.py",
    "bot/rasa_ext/speedups/featurizer.py",  # it featurizes the training data too
    "bot/rasa_ext/safety_net.py",
    "bot/safety",
)
MODEL_PREFIX = "signpost-"


def training_inputs() -> Iterable[Path]:
    """Every file Rasa trains from (the safety patterns and services are read at run time instead), and the code of
    the project's own trained components, whose output the model stores. The channel texts are no domain file (Rasa
    skips them) and are read at run time: a changed word there needs no new model."""
    yield CONFIG
    for folder in (NLU_DIR, RESPONSES_DIR):
        yield from (path for path in sorted(folder.rglob("*.yml")) if path != CHANNEL_TEXTS_FILE)
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
        how = (
            "run `signpost train` (or `make chat`) first"
            if settings.IN_CHECKOUT
            else "give one with --model PATH or SIGNPOST_MODEL, or copy it there (see docs/deploy.md)"
        )
        raise FileNotFoundError(f"No trained model in {MODELS_DIR}: {how}.")
    return found
