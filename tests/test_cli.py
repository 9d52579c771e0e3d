"""The console script as a person or another tool uses it: `signpost classify` and `signpost chat`."""

import json
import os
import subprocess
import sys
from pathlib import Path

SIGNPOST = str(Path(sys.executable).with_name("signpost"))
# Kept when set (a worktree run against a shared venv); a plain `make test` has none.
PYTHONPATH = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}


def run(args, stdin):
    return subprocess.run([SIGNPOST, *args], input=stdin, capture_output=True, text=True, timeout=300)


def test_classify_writes_one_json_line_per_input_in_order():
    lines = [
        {"text": "a boy on sc wont stop asking me for pics with no clothes on"},
        {"text": "hiya"},
        {"text": "how do i block someone on insta"},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    result = run(["classify"], stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 4
    assert out[0]["concern"] == "asked_for_nudes" and out[0]["platform"] == "snapchat"
    assert set(out[0]) == {"concern", "intent", "confidence", "platform", "by"}
    assert out[1]["concern"] == "greet" and out[1]["platform"] is None
    assert out[2]["concern"] == "block_report_help" and out[2]["platform"] == "instagram"
    assert "error" in out[3]


def test_chat_holds_a_scripted_conversation_with_numbered_choices(tmp_path):
    stdin = "hi\nsomeone keeps asking me for nudes\n1\nquit\n"
    result = subprocess.run(
        [SIGNPOST, "chat"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={"SIGNPOST_STATS_DB": str(tmp_path / "stats.db"), "PATH": "/usr/bin:/bin", **PYTHONPATH},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "automatic" in out.lower()
    assert "  1) " in out
    assert out.count("bot:") >= 5
    assert "0800 1111" in out
    # Piped in, each typed line is echoed, so the output reads as a transcript.
    assert [line for line in out.splitlines() if line.startswith("you: ")] == [
        "you: hi",
        "you: someone keeps asking me for nudes",
        "you: 1",
        "you: quit",
    ]
    assert "someone keeps asking me for nudes" not in result.stderr


def test_version():
    result = run(["--version"], "")
    assert result.returncode == 0 and result.stdout.startswith("signpost ")


def test_a_model_given_with_model_is_used_and_a_missing_one_is_one_clear_line(tmp_path):
    from bot.model_files import latest_model

    model = str(latest_model())
    stdin = '{"text": "hiya"}\n'
    result = run(["classify", "--model", model], stdin)
    assert result.returncode == 0 and '"greet"' in result.stdout, result.stderr
    empty = tmp_path / "no-models"
    empty.mkdir()
    result = run(["classify", "--model", str(empty)], stdin)
    assert result.returncode != 0 and "No model at" in result.stderr and "Traceback" not in result.stderr
