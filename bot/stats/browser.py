"""The dashboard in a real browser: made-up demo counts, a local server, and headless Chromium.

`make dashboard-shot` (python -m bot.stats.browser FILE.png) writes a screenshot of the front page for a reviewer,
and tests/test_dashboard.py reads the page's DOM after its scripts ran. The demo counts are invented (a fixed
random seed), never real ones.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator, List, Optional

DEMO_TODAY = date(2026, 11, 18)
DEMO_START = date(2026, 5, 4)  # a Monday: the demo service "launches" then


def chromium() -> Optional[str]:
    """The Chromium on this machine (Debian's `chromium`), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def demo_export(folder: Path) -> Path:
    """An export of made-up pilot-scale counts (about 25 conversations a week)."""
    from bot.stats import Stats, export

    rng = random.Random(15)
    weights = {
        "asked_for_nudes": 6,
        "sextortion": 4,
        "unknown_contact": 3,
        "image_shared": 2,
        "friend_worried": 2,
        "block_report_help": 3,
        "sent_nude_worried": 1,
        "self_harm": 1,
        "received_nude": 1,
    }
    apps = ["snapchat", "instagram", "tiktok", "discord", "roblox", "whatsapp"]
    with Stats(folder / "demo-live.db") as live:
        day = DEMO_START
        while day < DEMO_TODAY:
            for _ in range(rng.randint(1, 6)):
                concern = rng.choices(list(weights), list(weights.values()))[0]
                failures = [("not_understood", concern, rng.randint(1, 5))] if rng.random() < 0.25 else []
                live.record(
                    concerns=[concern],
                    platforms=[rng.choice(apps)] if rng.random() < 0.6 else [],
                    outcomes=["childline_shown"],
                    day=day,
                    failures=failures,
                )
            day += timedelta(days=1)
        return export(live, folder / "moderators.db", today=DEMO_TODAY)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_dashboard(db_path: Path, password_hash: Optional[str] = None) -> Iterator[str]:
    """Serve the dashboard on 127.0.0.1 in a thread; yields its base URL."""
    import uvicorn

    from bot.stats.dashboard import make_datasette

    port = _free_port()
    config = uvicorn.Config(
        make_datasette(db_path, password_hash).app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _run(args: List[str], timeout: float = 90) -> subprocess.CompletedProcess:
    browser = chromium()
    if browser is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="signpost-chromium-") as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=8000",
            *args,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def dump_dom(url: str) -> str:
    """The page's DOM after its scripts ran."""
    return _run(["--dump-dom", url]).stdout


def screenshot(url: str, path: Path, width: int = 1280, height: int = 2200) -> Path:
    result = _run([f"--screenshot={path}", f"--window-size={width},{height}", url])
    if not Path(path).is_file():
        raise RuntimeError(f"chromium wrote no screenshot ({result.returncode})")
    return Path(path)


def main(argv: List[str]) -> int:
    out = Path(argv[0] if argv else "dashboard.png").resolve()
    with tempfile.TemporaryDirectory(prefix="signpost-shot-") as folder:
        db = demo_export(Path(folder))
        with running_dashboard(db) as base:
            screenshot(f"{base}/-/dashboards/signpost?period=month", out)
    print(f"screenshot of the dashboard's front page (made-up demo counts): {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
