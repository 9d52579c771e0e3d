"""`signpost eval` on the command line, with a stand-in engine: the report, JSON, a bad file, several sets."""

import json

import pytest
from click.testing import CliRunner


class FakeEngine:
    """Stands in for bot.engine.Engine: says self_harm for texts with "die" or "dying", else greet."""

    async def classify(self, text):
        concern = "self_harm" if "die" in text or "dying" in text else "greet"
        return {"concern": concern, "intent": concern, "confidence": 1.0, "platform": None, "by": "model"}


def _cli(monkeypatch, tmp_path, lines, *args):
    from bot import cli, engine

    monkeypatch.setattr(engine.Engine, "load", classmethod(lambda cls, *a, **k: FakeEngine()))
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return CliRunner().invoke(cli.main, ["eval", str(path), *args])


ROWS = [
    json.dumps({"text": "i want to die", "labels": ["self_harm"], "crisis": True}),
    json.dumps({"text": "hiya", "labels": ["greet"]}),
    json.dumps({"text": "dying to see it lol", "labels": ["out_of_scope"], "trap": True}),
]


ROWS = [
    json.dumps({"text": "i want to die", "labels": ["self_harm"], "crisis": True}),
    json.dumps({"text": "hiya", "labels": ["greet"]}),
    json.dumps({"text": "dying to see it lol", "labels": ["out_of_scope"], "trap": True}),
]


def test_cli_eval_prints_the_report(monkeypatch, tmp_path):
    result = _cli(monkeypatch, tmp_path, ROWS)
    assert result.exit_code == 0, result.output
    assert "crisis recall: 1.000 (1 of 1)" in result.output
    assert "trap false alarms: 1 of 1 traps" in result.output


def test_cli_eval_json(monkeypatch, tmp_path):
    result = _cli(monkeypatch, tmp_path, ROWS, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["accuracy"] == pytest.approx(0.6667)
    assert report["crisis_false_alarms"]["count"] == 1


def test_cli_eval_rejects_a_bad_file(monkeypatch, tmp_path):
    result = _cli(monkeypatch, tmp_path, ['{"text": "hi", "labels": ["nope"]}'])
    assert result.exit_code != 0
    assert "unknown concern" in result.output


def _write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_cli_eval_compares_several_sets_side_by_side(monkeypatch, tmp_path):
    from bot import cli, engine

    monkeypatch.setattr(engine.Engine, "load", classmethod(lambda cls, *a, **k: FakeEngine()))
    real = _write(tmp_path, "real.jsonl", ROWS[:2])
    written = _write(tmp_path, "written.jsonl", ROWS)
    result = CliRunner().invoke(cli.main, ["eval", real, written])
    assert result.exit_code == 0, result.output
    table = result.output.split("\n\n")[0].splitlines()
    assert table[0].split()[:3] == ["set", "rows", "accuracy"]
    assert table[1].split()[:3] == ["real.jsonl", "2", "1.000"]
    assert table[2].split()[:3] == ["written.jsonl", "3", "0.667"]
    assert "== real.jsonl ==" in result.output and "== written.jsonl ==" in result.output
    reports = json.loads(CliRunner().invoke(cli.main, ["eval", real, written, "--json"]).output)
    assert set(reports) == {"real.jsonl", "written.jsonl"} and reports["written.jsonl"]["rows"] == 3
