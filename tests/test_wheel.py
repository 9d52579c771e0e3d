"""The wheel works with no checkout: built, installed in a fresh venv (tests/installed.py), and run from a temporary
folder with the checkout not importable: a conversation, classify with the safety net, stats, the dashboard."""

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from installed import run

from bot.model_files import latest_model
from bot.settings import ROOT

pytestmark = pytest.mark.slow


def test_the_package_comes_from_the_wheel_and_carries_its_run_time_files(installed, tmp_path):
    code = (
        "import json, sys, bot, bot.settings as s; print(json.dumps({'bot': bot.__file__, 'checkout': "
        "s.IN_CHECKOUT, 'patterns': str(s.SAFETY_PATTERNS), 'services': str(s.SERVICES_FILE), "
        "'channel': str(s.CHANNEL_TEXTS_FILE), 'path': sys.path}))"
    )
    result = subprocess.run(
        [str(installed.bin / "python"), "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=installed.env(),
        check=True,
    )
    found = json.loads(result.stdout)
    assert found["bot"].startswith(str(installed.venv)) and found["checkout"] is False
    assert Path(found["patterns"]).is_file() and Path(found["services"]).is_file()
    assert Path(found["patterns"]).read_bytes() == (ROOT / "nlu" / "safety_patterns.jsonl").read_bytes()
    # The words the code says itself (responses/channel.yml) come with the package too.
    assert Path(found["channel"]).read_bytes() == (ROOT / "responses" / "channel.yml").read_bytes()
    assert not [p for p in found["path"] if p and Path(p).resolve() == ROOT]
    version = run(installed, ["--version"], tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == "signpost 0.1.0"


def test_a_conversation_with_the_installed_bot(installed, tmp_path):
    script = "hi\nsomeone on snap keeps asking me for nudes\n1\nquit\n"
    result = run(
        installed,
        ["chat", "--model", str(latest_model())],
        tmp_path,
        stdin=script,
        SIGNPOST_STATS_DB=str(tmp_path / "stats.db"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert [line for line in out.splitlines() if line.startswith("you: ")] == [
        f"you: {line}" for line in script.splitlines()
    ]
    assert "automatic helper" in out and "0800 1111" in out and "  1) " in out
    assert out.rstrip().endswith("bot: Take care. Childline is there any time: 0800 1111.")  # channel.yml's words
    assert "On Snapchat" in out  # the button picked by its number
    assert "Traceback" not in result.stderr

    stats = run(installed, ["stats", "--include-current-week"], tmp_path, SIGNPOST_STATS_DB=str(tmp_path / "stats.db"))
    assert stats.returncode == 0 and "asked_for_nudes" in stats.stdout, stats.stderr[-2000:]
    export = run(
        installed,
        ["stats", "export", str(tmp_path / "release.db")],
        tmp_path,
        SIGNPOST_STATS_DB=str(tmp_path / "stats.db"),
    )
    assert export.returncode == 0 and (tmp_path / "release.db").is_file(), export.stderr[-2000:]
    dashboard_serves(installed, tmp_path, tmp_path / "release.db")


def dashboard_serves(installed, cwd, db):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [str(installed.bin / "signpost"), "dashboard", "--db", str(db), "--port", str(port)],
        cwd=cwd,
        env=installed.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.stderr.read().decode(errors="replace")[-2000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/release", timeout=5) as response:
                    page = response.read().decode()
                    break
            except OSError:
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.5)
        assert "concerns" in page  # the moderators' metadata (package data) names the tables
    finally:
        process.terminate()
        process.wait(30)


def test_the_model_is_found_in_the_user_data_folder_and_the_safety_net_runs_from_the_package(installed, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    missing = run(installed, ["classify"], tmp_path, stdin='{"text": "hi"}\n', HOME=str(home))
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert "No trained model in" in missing.stderr and ".local/share/signpost/models" in missing.stderr

    models = home / ".local" / "share" / "signpost" / "models"
    models.mkdir(parents=True)
    shutil.copy2(latest_model(), models)
    lines = [{"text": "i want to kill myself"}, {"text": "how do i block someone on insta"}]
    result = run(
        installed, ["classify"], tmp_path, stdin="".join(json.dumps(line) + "\n" for line in lines), HOME=str(home)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    crisis, block = (json.loads(line) for line in result.stdout.splitlines())
    assert crisis["concern"] == "self_harm" and crisis["by"] == "safety"
    assert block["concern"] == "block_report_help" and block["platform"] == "instagram"


def test_training_needs_the_checkout_and_says_so(installed, tmp_path):
    result = run(installed, ["train"], tmp_path)
    assert result.returncode != 0 and "checkout" in result.stderr and "Traceback" not in result.stderr
