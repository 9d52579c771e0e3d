"""Rasa's own route keeps the promise: `rasa run` (and so `rasa shell`, which uses the same endpoints) with the
project's endpoints.yml keeps no text. A canary message goes in over REST; the tracker endpoint, the server's output
and every file written during the run must hold none of it."""

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import pytest

from bot.model_files import latest_model
from bot.settings import ENDPOINTS, ROOT

RASA = str(Path(sys.executable).with_name("rasa"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_endpoints_name_the_redacting_tracker_store_and_rasa_loads_it():
    """Through Rasa's own loader; a class Rasa can't import falls back to InMemoryTrackerStore (which keeps text),
    so a wrong name is caught here and not only by the slow test below."""
    from rasa.core.tracker_store import InMemoryTrackerStore, TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

    from bot.rasa_ext.tracker_store import RedactingTrackerStore

    config = read_endpoint_config(str(ENDPOINTS), "tracker_store")
    assert config is not None and config.type == "bot.rasa_ext.tracker_store.RedactingTrackerStore"
    assert type(TrackerStore.create(config, Domain.empty())) is RedactingTrackerStore
    # The control: Rasa's silent fallback is real, so the name matters.
    with pytest.warns(UserWarning):
        wrong = TrackerStore.create(EndpointConfig(type="bot.rasa_ext.tracker_store.NoSuchStore"), Domain.empty())
    assert type(wrong) is InMemoryTrackerStore


def files_changed_since(folder, started):
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in (".git", ".venv")]
        for name in filenames:
            path = Path(dirpath, name)
            try:
                if path.stat().st_mtime >= started and path.is_file():
                    yield path
            except OSError:
                continue


@pytest.mark.slow
async def test_rasa_run_keeps_no_text(tmp_path):
    canary = f"canary-{uuid.uuid4().hex}"
    needle = canary[len("canary-") :][:16].encode()
    sender = uuid.uuid4().hex
    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), TMPDIR=str(tmp_path), RASA_TELEMETRY_ENABLED="false")
    started = time.time() - 1
    log = (tmp_path / "rasa.log").open("wb")
    # Rasa listens on 0.0.0.0 unless told: the README's command (and this test) say 127.0.0.1.
    process = subprocess.Popen(
        [
            RASA,
            "run",
            "--enable-api",
            "--connector",
            "rest",
            "-m",
            str(latest_model()),
            "--endpoints",
            str(ENDPOINTS),
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            deadline = time.monotonic() + 300
            while True:
                assert process.poll() is None, (tmp_path / "rasa.log").read_text(errors="replace")[-3000:]
                try:
                    async with session.get(f"{base}/status") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "rasa run did not start in 300 s"
                await asyncio.sleep(1)
            for text in (f"someone called {canary} keeps asking me for nudes on snap", f"its {canary}"):
                async with session.post(
                    f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": text}
                ) as response:
                    assert response.status == 200
                    replies = await response.json()
                    assert replies and all(canary not in (r.get("text") or "") for r in replies)
            trackers = []
            for query in ("", "?include_events=ALL"):
                async with session.get(f"{base}/conversations/{sender}/tracker{query}") as response:
                    assert response.status == 200
                    trackers.append(await response.read())
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()

    assert b'"asked_for_nudes"' in trackers[0], "the tracker was kept (intents only)"
    leaks = [f"tracker{'' if i == 0 else ' (all events)'}" for i, t in enumerate(trackers) if needle in t.lower()]
    leaks += [
        str(p)
        for folder in (tmp_path, ROOT)
        for p in files_changed_since(folder, started)
        if needle in p.read_bytes().lower()
    ]
    assert not leaks, f"the canary was kept in: {leaks}"
