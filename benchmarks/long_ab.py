"""A/B of the ways to read long messages, in one process on one model: `python -m benchmarks.long_ab [MODEL]`.

Each set is parsed once (whole message and every piece, through the real NLU graph), then every variant of the
combiner is scored on those parses; the NLU time of a 100-word message is measured for each way of reading.
Prints one table row per variant (real accuracy, real crisis recall, per-concern recall under 0.70 on the real
set, the written sets' accuracy and crisis recall).
"""

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from benchmarks.conversations import LONG_MESSAGES
from bot import long_messages as lm
from bot.concerns import concern_for
from bot.engine import Engine
from bot.tools import evaluate

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SETS = ("real.jsonl", "heldout.jsonl", "blind.jsonl", "fresh.jsonl")

HUNDRED_WORDS = LONG_MESSAGES  # 100-word messages of our own (benchmarks/conversations.py)


def variants():
    """(name, settings) for the combiner; settings are module constants of bot.long_messages."""
    yield "whole message only (before)", None
    for weight in (1.0, 2.0, 3.0, 5.0):
        yield f"whole + sentences pooled, whole weighs {weight:g}", {"WHOLE_WEIGHT": weight}
    yield "pooled, whole weighs 3, no fallback floor", {"WHOLE_WEIGHT": 3.0, "FALLBACK_CONFIDENCE": 0.0}
    yield (
        "pooled only (whole weighs 3), no serious sentence",
        {"WHOLE_WEIGHT": 3.0, "SERIOUS_SENTENCE_CONFIDENCE": None},
    )
    for bar in (0.6, 0.7, 0.8, 0.9):
        yield f"pooled + a more serious sentence at {bar:g}+ answers", {"SERIOUS_SENTENCE_CONFIDENCE": bar}


def set_constants(settings):
    for key, value in settings.items():
        setattr(lm, key, value)


async def parse_all(engine, rows):
    """(whole parse, piece readings) per row, read the long way; pieces empty for short messages."""
    out = []
    engine.read_long_messages = False
    for row in rows:
        text = row["text"]
        pieces = lm.split_sentences(text) if lm.is_long(text) else []
        whole = await engine._parse(text)
        out.append((whole, engine._model_readings(pieces) if len(pieces) > 1 else []))
    engine.read_long_messages = True
    return out


def concern_of(whole, parsed, settings):
    if settings is None or not parsed:
        intent = whole["intent"].get("name") or "nlu_fallback"
        return {"concern": concern_for(intent), "by": "safety" if whole.get("safety") else "model"}
    set_constants(settings)
    parse = lm.combined_parse(whole, parsed)
    intent = parse["intent"].get("name") or "nlu_fallback"
    return {
        "concern": concern_for(intent),
        "by": "safety" if parse.get("safety") else "model",
        "also": parse["long_message"]["also"],
    }


def also_scores(rows, predictions):
    """Of the rows with two labels, the share whose `also` is the other label; of one-label rows, the share with
    an `also` at all (a button the message did not need)."""
    two = [(r, p) for r, p in zip(rows, predictions) if len(r["labels"]) > 1]
    one = [(r, p) for r, p in zip(rows, predictions) if len(r["labels"]) == 1]
    hit = sum(1 for r, p in two if p.get("also") in r["labels"] and p["concern"] in r["labels"])
    noise = sum(1 for r, p in one if p.get("also"))
    return f"{hit}/{len(two)}, {noise}/{len(one)}"


async def timing(engine, read_long):
    engine.read_long_messages = read_long
    times, cpu = [], []
    for _ in range(3):
        for text in HUNDRED_WORDS:
            await engine._parse(text)
    for _ in range(100):
        for text in HUNDRED_WORDS:
            start, start_cpu = time.perf_counter(), time.thread_time()
            await engine._parse(text)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.thread_time() - start_cpu) * 1000)
    engine.read_long_messages = True
    times.sort()
    cpu.sort()
    return (
        statistics.median(times),
        times[int(0.95 * len(times)) - 1],
        statistics.median(cpu),
        cpu[int(0.95 * len(cpu)) - 1],
    )


async def main(model=None):
    engine = Engine.load(Path(model) if model else None)
    sets = {name: evaluate.read_rows((DATA / name).open()) for name in SETS}
    parsed = {name: await parse_all(engine, rows) for name, rows in sets.items()}
    tuned = ("WHOLE_WEIGHT", "FALLBACK_CONFIDENCE", "SERIOUS_SENTENCE_CONFIDENCE")
    defaults = {k: getattr(lm, k) for k in tuned}
    whole_ms = await timing(engine, False)
    long_ms = await timing(engine, True)
    print(
        "| variant | real accuracy | real crisis recall | real concerns (5+ rows) under 0.70 recall "
        "| heldout / blind / fresh accuracy | their crisis recall | NLU ms p50/p95, 100 words "
        "| real: also right on 2-label rows, also on 1-label rows |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, settings in variants():
        reports, also = {}, "-"
        for set_name, rows in sets.items():
            predictions = [concern_of(w, p, settings) for w, p in parsed[set_name]]
            reports[set_name] = evaluate.evaluate(zip(rows, predictions))
            if set_name == "real.jsonl":
                also = also_scores(rows, predictions)
        set_constants(defaults)
        real = reports["real.jsonl"]
        weak = [
            f"{c} {v['recall']:.2f}" for c, v in real["per_concern"].items() if v["support"] >= 5 and v["recall"] < 0.70
        ]
        written = [reports[s] for s in SETS[1:]]
        ms = whole_ms if settings is None else long_ms
        print(
            f"| {name} | {real['accuracy']:.3f} | {real['crisis']['recall']:.3f} | {', '.join(weak) or 'none'} | "
            + " / ".join(f"{r['accuracy']:.3f}" for r in written)
            + " | "
            + " / ".join(f"{r['crisis']['recall']:.3f}" for r in written)
            + f" | {ms[0]:.1f} / {ms[1]:.1f} (CPU {ms[2]:.1f} / {ms[3]:.1f}) | {also} |"
        )
    if "--misses" in sys.argv:
        for set_name, rows in sets.items():
            for row, (w, p) in zip(rows, parsed[set_name]):
                c = concern_of(w, p, defaults)["concern"]
                if c not in row["labels"]:
                    print(
                        json.dumps(
                            {
                                "set": set_name,
                                "labels": row["labels"],
                                "got": c,
                                "whole": concern_for(w["intent"]["name"] or "nlu_fallback"),
                                "pieces": [(x["intent"]["name"], round(x["intent"]["confidence"], 2)) for x in p],
                            }
                        )
                    )


if __name__ == "__main__":
    asyncio.run(main(next((a for a in sys.argv[1:] if not a.startswith("--")), None)))
