"""The in-process engine benchmarks, in a fresh process: `python -m benchmarks.engine_worker CONFIG_JSON`.

In order: cold start (the parent times process start to first answer), resident memory after load, NLU-only
latency (engine.classify), full-turn latency (engine.reply) while resolving the conversation scripts (written to
`oracle_out` for the end-to-end runs) and how many of those turns were answered "not understood" or "can't help",
then resident memory while distinct conversations pass through.
Reports go to stdout as "BENCH {json}" lines (benchmarks/measure.py).
"""

import asyncio
import gc
import json
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Tuple

from benchmarks.conversations import (
    APP_WORDS,
    CONCERNS_WITH_APP,
    CONCERNS_WITHOUT_APP,
    LONG_MESSAGES,
    OPENERS,
    Keyboards,
    Turn,
    all_texts,
    resolve_step,
    scripts,
)
from benchmarks.measure import latency_summary, now, report, rss_mb


def _texts_of(reply: Any) -> List[str]:
    """The bot messages the Telegram front end sends: those with text (an empty one is never sent)."""
    return [m.text for m in reply.messages if m.text.strip()]


async def failure_kinds(engine: Any, conversation_id: str) -> List[str]:
    """The kinds of failure ("not_understood", "cant_help") of the conversation's latest answer, by the names of
    the responses it was made of (the moderators' failure counts, bot/engine/counting.py), not by their words."""
    from bot.engine.counting import FAILURE_KINDS
    from bot.engine.events import actions, split_turns

    tracker = await engine.tracker_store.retrieve(conversation_id)
    now_actions = actions(split_turns(tracker.events)[1]) if tracker is not None else []
    return sorted({FAILURE_KINDS[a] for a in now_actions if a in FAILURE_KINDS})


def failure_summary(kinds_per_turn: List[List[str]]) -> Dict[str, Any]:
    """How many turns got each kind of failure, and the share of turns that got either (in %)."""
    failed = sum(1 for kinds in kinds_per_turn if kinds)
    return {
        "turns": len(kinds_per_turn),
        "not_understood": sum("not_understood" in kinds for kinds in kinds_per_turn),
        "cant_help": sum("cant_help" in kinds for kinds in kinds_per_turn),
        "failed_turns": failed,
        "share_pct": round(100 * failed / max(len(kinds_per_turn), 1), 2),
    }


async def resolve(
    engine: Any, count: int, seed: int
) -> Tuple[List[List[Dict[str, Any]]], List[float], List[List[str]]]:
    """Play every script once: its concrete turns with their answers, each engine.reply's time, and each answer's
    kinds of failure (outside the timing)."""
    timings: List[float] = []
    failures: List[List[str]] = []
    conversations = []
    for number, steps in enumerate(scripts(count, seed)):
        conversation_id = f"oracle-{number}"
        keyboards = Keyboards()
        turns: List[Turn] = []
        for step in steps:
            for turn in resolve_step(step, keyboards):
                started = time.perf_counter()
                reply = await engine.reply(conversation_id, turn.text)
                await engine.count(conversation_id)  # the counting step, timed with the turn as before
                timings.append(time.perf_counter() - started)
                failures.append(await failure_kinds(engine, conversation_id))
                turn.expected = _texts_of(reply)
                for message in reply.messages:
                    if message.text.strip():
                        keyboards.add([(b.title, b.payload) for b in message.buttons])
                turns.append(turn)
        conversations.append([t.to_dict() for t in turns])
    return conversations, timings, failures


async def memory_run(engine: Any, total: int, every: int, seed: int) -> List[Dict[str, Any]]:
    """`total` distinct one-message conversations; resident memory and trackers held after every `every`."""
    rng = random.Random(seed)
    openings = (
        list(OPENERS)
        + list(CONCERNS_WITHOUT_APP)
        + [t.format(app=word) for t in CONCERNS_WITH_APP for word in APP_WORDS.values()]
    )
    points = []
    started = time.perf_counter()
    for number in range(total):
        await engine.reply(f"memory-{number}", rng.choice(openings))
        if (number + 1) % every == 0 or number + 1 == total:
            gc.collect()
            points.append(
                {
                    "conversations": number + 1,
                    "rss_mb": rss_mb(),
                    "trackers_held": len(engine.tracker_store),
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
    return points


async def main(config: Dict[str, Any]) -> None:
    report(event="started", at=now())
    warnings.showwarning = lambda *args, **kwargs: None
    from bot.privacy import configure_logging

    configure_logging()
    from bot.engine import Engine
    from bot.stats import Stats

    imported = now()
    stats = Stats(config["stats_db"])
    engine = Engine.load(Path(config["model"]), stats=stats)
    loaded = now()
    rss_after_load = rss_mb()
    await engine.reply("cold-start", "hi")
    report(
        event="first_answer",
        at=now(),
        imported_at=imported,
        loaded_at=loaded,
        rss_after_load_mb=rss_after_load,
        rss_after_first_answer_mb=rss_mb(),
    )

    texts = all_texts()
    classify_times = []
    for number in range(config["classify_messages"]):
        started = time.perf_counter()
        await engine.classify(texts[number % len(texts)])
        classify_times.append(time.perf_counter() - started)
    report(event="classify", latency=latency_summary(classify_times), distinct_texts=len(texts))

    long_times = []
    for number in range(max(20, config["classify_messages"] // 10)):
        started = time.perf_counter()
        await engine.classify(LONG_MESSAGES[number % len(LONG_MESSAGES)])
        long_times.append(time.perf_counter() - started)
    report(event="classify_long", latency=latency_summary(long_times), words=[len(t.split()) for t in LONG_MESSAGES])

    cache = engine.predictions  # None with SIGNPOST_SPEEDUPS=0
    hits, misses = (cache.hits, cache.misses) if cache else (0, 0)
    conversations, turn_times, failures = await resolve(engine, config["conversations"], config["seed"])
    Path(config["oracle_out"]).write_text(json.dumps(conversations), encoding="utf-8")
    hits, misses = (cache.hits - hits, cache.misses - misses) if cache else (0, 0)
    report(
        event="full_turn",
        latency=latency_summary(turn_times),
        conversations=len(conversations),
        rss_mb=rss_mb(),
        prediction_cache={"hits": hits, "misses": misses, "hit_rate": round(hits / max(hits + misses, 1), 3)},
        failures=failure_summary(failures),
    )

    points = await memory_run(engine, config["memory_conversations"], config["memory_every"], config["seed"])
    report(event="memory", points=points, max_conversations=engine.tracker_store.max_conversations)
    stats.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
