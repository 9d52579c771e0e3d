"""A quick smoke run of `make bench` with tiny counts, so the benchmark keeps working. No timing is asserted.

It runs every part except the training time (that part only times `signpost train --force`, which the CLI tests
cover, and would add a training to every test run): the engine in a fresh process, 2 and then 4 simulated people
through the fake Telegram server against `signpost telegram`, and the same against stock `rasa run`.
"""

import json
import subprocess
import sys

import pytest

from bot.settings import ROOT


@pytest.mark.slow  # the stock-Rasa comparison: `rasa run` and `signpost telegram` started and loaded
def test_quick_benchmark_run_measures_everything_and_loses_nothing(tmp_path):
    output = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--skip-training", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(output.read_text())

    engine = results["engine"]
    assert engine["cold_start_s"] > 0 and engine["rss_after_load_mb"] > 0
    assert engine["classify"]["n"] == 20 and engine["full_turn"]["n"] > 0
    assert [p["conversations"] for p in engine["memory_points"]][-1] == 60
    assert results["conversations"]["resolved"] == 4

    for target in ("telegram", "stock_rasa"):
        assert results[target]["start_s"] > 0
        for users in ("2", "4"):
            figures = results[target]["runs"][users]
            # Every planned turn answered, in order, with the engine's own answer.
            assert figures["turns_answered"] + figures["silent_turns"] == figures["turns_planned"] > 0, figures
            assert figures["lost"] == figures["out_of_order"] == 0, (target, figures)
            if target == "telegram":
                # Stock `rasa run` has no engine context step (a repeated concern's short answer, the crisis
                # reminder), so only Signpost's own answers must match the engine's exactly.
                assert figures["mismatched"] == 0, (target, figures)
            assert figures["turns_per_s"] > 0 and figures["latency"]["p95_ms"] > 0
            assert figures["rounds"] == [figures["turns_per_s"]]  # --quick measures one round
        assert results["telegram"]["runs"]["4"]["extra_messages"] == 0
    # The engine runs in its own process: its memory and both processes' CPU are measured.
    telegram_run = results["telegram"]["runs"]["4"]
    assert telegram_run["engine_process_rss_mb"] > 300 and telegram_run["bot_rss_mb"] > 0
    assert set(telegram_run["cpu_cores"]) == {"telegram_process", "engine_process", "load_generator"}
    assert set(results["stock_rasa"]["runs"]["4"]["cpu_cores"]) == {"rasa_run", "load_generator"}
    cache = engine["full_turn_prediction_cache"]
    assert cache["hits"] + cache["misses"] > 0 and 0 <= cache["hit_rate"] <= 1
    # Every simulated turn is counted for the "not understood" / "can't help" share (issue 13: under 2%).
    failed = engine["full_turn_failures"]
    assert failed["turns"] == engine["full_turn"]["n"] and 0 <= failed["share_pct"] <= 100
    assert failed["failed_turns"] <= failed["not_understood"] + failed["cant_help"]
    # The same passes with SIGNPOST_SPEEDUPS=0 (stock Rasa inside the engine) give the very same answers.
    stock_internals = results["engine_without_speedups"]
    assert stock_internals["same_answers"] is True
    assert stock_internals["classify"]["n"] == 20 and stock_internals["full_turn"]["n"] == engine["full_turn"]["n"]

    # The printed table has the peer ratio, and every figure is in the written results.
    assert "ratio Signpost/stock turns/s, 4 people" in run.stdout
    labels = {row["figure"] for row in results["table"]}
    assert "full turn (engine.reply) p50" in labels and "cold start: process start to first answer" in labels
    assert "SIGNPOST_SPEEDUPS=0: full turn p50 / p95" in labels
