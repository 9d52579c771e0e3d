"""The wheel carries the run-time files a bot needs besides its model, copied from the checkout at build time.

`responses/services.yml` (every phone number and address), `responses/channel.yml` (the words the code says itself)
and `nlu/safety_patterns*.jsonl` (the safety net) are read when the bot runs; in a checkout from where they are, in
an installed wheel from `bot/data/` (bot/settings.py).
Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# The same as bot.settings.RUNTIME_FILES.
RUNTIME_FILES = ("responses/services.yml", "responses/channel.yml", "nlu/safety_patterns*.jsonl")


class BuildPyWithRuntimeData(build_py):
    """build_py, then the run-time files into bot/data/ of the build (never into the source tree)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the checkout itself
            return
        target = Path(self.build_lib) / "bot" / "data"
        shutil.rmtree(target, ignore_errors=True)  # nothing stale from an earlier build
        target.mkdir(parents=True)
        for pattern in RUNTIME_FILES:
            found = sorted(HERE.glob(pattern))
            if not found:
                raise FileNotFoundError(f"{pattern}: a run-time file the wheel must carry is missing")
            for path in found:
                shutil.copy2(path, target / path.name)


setup(cmdclass={"build_py": BuildPyWithRuntimeData})
