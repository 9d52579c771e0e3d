"""Signpost built as a wheel and installed in a fresh venv, outside the source tree (for tests/test_wheel.py and
tests/test_deploy.py).

The wheel is built from a copy of the checkout's files (git's tracked and untracked-but-not-ignored files, so the
checkout gets no build/ folder) and installed with `pip install --no-deps --no-index` into a new venv made without
system site-packages. Its dependencies are not installed again: a full install (Rasa, TensorFlow, spaCy: about 3 GB)
takes minutes and needs the network, too slow and fragile for every test run. Instead a .pth file in the new venv
points at the site-packages of the venv running the tests, which holds exactly the constrained dependency set
`make` installs. A .pth line only adds that folder to sys.path, after the new venv's own site-packages, and does not
run the .pth files in it, so the checkout's editable install there is not active: `bot` comes from the wheel. The
full install is what docs/deploy.md does on a server (`pip install -c constraints.txt ./signpost-*.whl`).
"""

import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

from bot.settings import ROOT

SKIP_DIRS = {".git", ".venv", "models", ".rasa", "build", "results", "__pycache__", ".pytest_cache", ".hypothesis"}


@dataclass
class Installed:
    venv: Path
    wheel: Path
    home: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> Dict[str, str]:
        """A clean environment: the venv's bin first, a home of its own, no PYTHONPATH."""
        env = {"PATH": f"{self.bin}:/usr/bin:/bin", "HOME": str(self.home), "LANG": "C.UTF-8"}
        env.update(extra)
        return env


def _source_files() -> list:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
        return [Path(name.decode()) for name in listed if name]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: everything but the usual clutter
        return [
            p.relative_to(ROOT)
            for p in ROOT.rglob("*")
            if p.is_file() and not SKIP_DIRS & set(p.relative_to(ROOT).parts)
        ]


def build_and_install(where: Path) -> Installed:
    source = where / "source"
    for name in _source_files():
        if (ROOT / name).is_file() and not SKIP_DIRS & set(name.parts):
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    dist = where / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "-q",
            "-w",
            str(dist),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("signpost-*.whl")
    shutil.rmtree(source)  # nothing of the checkout is left beside the install

    venv = where / "venv"
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--disable-pip-version-check",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    site = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "zz_signpost_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    home = where / "home"
    home.mkdir()
    return Installed(venv=venv, wheel=wheel, home=home)


def run(installed: Installed, args, cwd: Path, stdin: str = "", timeout: float = 300, **env: str):
    return subprocess.run(
        [str(installed.bin / "signpost"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=installed.env(**env),
        timeout=timeout,
    )
