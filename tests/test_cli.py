"""The console script as a person or another tool uses it: `signpost classify` and `signpost chat`."""

import json
import subprocess
import sys
from pathlib import Path

SIGNPOST = str(Path(sys.executable).with_name("signpost"))


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
        [SIGNPOST, "chat"], input=stdin, capture_output=True, text=True, timeout=300,
        env={"SIGNPOST_STATS_DB": str(tmp_path / "stats.db"), "PATH": "/usr/bin:/bin"}, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "automatic" in out.lower()
    assert "  1) " in out
    assert out.count("bot:") >= 5
    assert "0800 1111" in out
    assert "someone keeps asking me for nudes" not in result.stderr
