"""A/B of the full-turn speed-ups in one process: `python -m benchmarks.turn_ab [--rounds N] [--off NAME,...]`.

The machine is shared and its speed drifts by the minute, so `make bench` runs minutes apart can't show a change of
a millisecond. Here one engine is loaded once and plays the full-turn pass of `make bench` (its 1,200 conversation
scripts: `engine.reply` and `engine.count`, timed together as benchmarks/engine_worker.py times them) twice at once,
conversation by conversation, who goes first alternating: once with the speed-ups named by `--off` switched off
("before"), once with every speed-up on ("after"). Each side has its own prediction cache and rule index, empty
at the start of a run as in a fresh `make bench` engine, and new conversation ids. Each run's p50/p95/p99 (wall
clock, and the thread's CPU time, which others' load disturbs less) is printed, then the median over the runs, and
whether both sides gave the same answers.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List

from benchmarks.conversations import Keyboards, resolve_step, scripts
from benchmarks.measure import percentile

# Each switchable speed-up of a turn: name -> (engine, on) -> None.
Switch = Callable[[Any, bool], None]


def _rule_index(engine: Any, on: bool) -> None:
    from bot.rasa_ext.speedups import rule_index

    for index in rule_index.install(engine.agent):
        index.policy._get_possible_keys = index if on else index.stock


def _log_copies(engine: Any, on: bool) -> None:
    from bot.rasa_ext.speedups import log_copies

    log_copies.install() if on else log_copies.uninstall()


def _response_tracker(engine: Any, on: bool) -> None:
    from bot.rasa_ext.speedups import response_tracker

    run = response_tracker.install(engine.agent)
    engine.agent.processor._run_action = run if on else run.stock


def _nlg_templates(engine: Any, on: bool) -> None:
    from bot.rasa_ext.speedups import nlg_templates

    choice = nlg_templates.install(engine.agent)
    if on:
        engine.agent.nlg._random_response_for = choice
    else:
        nlg_templates.uninstall()
        vars(engine.agent.nlg).pop("_random_response_for", None)


def _key_cut(engine: Any, on: bool) -> None:
    """Nothing to switch here: each side's own prediction cache is set up by `Side` (the key's cut, and whether a
    miss runs RulePolicy first)."""


SWITCHES: Dict[str, Switch] = {
    "rule_index": _rule_index,
    "log_copies": _log_copies,
    "key_cut": _key_cut,
    "response_tracker": _response_tracker,
    "rules_first": _key_cut,
    "nlg_templates": _nlg_templates,
}


class Side:
    """One side of the A/B: which speed-ups are on, and its own prediction cache and rule memory, empty at first
    as in a fresh `make bench` engine."""

    def __init__(self, engine: Any, name: str, off: List[str]) -> None:
        from bot.rasa_ext.speedups import PredictionCache, rule_index

        self.engine, self.name, self.off = engine, name, off
        cache = engine.predictions
        longest = cache.longest if cache and "key_cut" not in off else None
        predict = cache._predict if cache else None
        if "rules_first" in off:
            predict = getattr(predict, "stock", predict)  # Rasa's whole ensemble on a miss
        self.predictions = PredictionCache(predict, longest=longest) if cache else None
        self.indexes = [rule_index.RuleIndex(i.policy, i._pairs) for i in rule_index.install(engine.agent)]
        self.wall: List[float] = []
        self.cpu: List[float] = []
        self.answers: List[Any] = []

    def use(self) -> None:
        for name in SWITCHES:
            SWITCHES[name](self.engine, name not in self.off)
        if self.predictions is not None:
            self.engine.agent.processor._predict_next_with_tracker = self.predictions
        if "rule_index" not in self.off:
            for index in self.indexes:
                index.policy._get_possible_keys = index

    async def play(self, number: int, steps: List[Any]) -> None:
        """One conversation script on a new id; each turn timed as the bench times it (reply and count)."""
        self.use()
        engine, conversation_id, keyboards = self.engine, f"ab-{self.name}-{number}", Keyboards()
        for step in steps:
            for turn in resolve_step(step, keyboards):
                started, started_cpu = time.perf_counter(), time.thread_time()
                reply = await engine.reply(conversation_id, turn.text)
                await engine.count(conversation_id)
                self.cpu.append(time.thread_time() - started_cpu)
                self.wall.append(time.perf_counter() - started)
                self.answers.append(reply.messages)
                for message in reply.messages:
                    if message.text.strip():
                        keyboards.add([(b.title, b.payload) for b in message.buttons])
        await engine.forget(conversation_id)

    def summary(self) -> Dict[str, Any]:
        cache = self.predictions
        return {
            "turns": len(self.wall),
            "p50_ms": _ms(self.wall, 50),
            "p95_ms": _ms(self.wall, 95),
            "p99_ms": _ms(self.wall, 99),
            "cpu_p50_ms": _ms(self.cpu, 50),
            "cpu_p95_ms": _ms(self.cpu, 95),
            "cache_misses": cache.misses if cache else None,
        }


def _ms(values: List[float], p: float) -> float:
    return round(percentile(values, p) * 1000, 2)


async def main(args: argparse.Namespace) -> None:
    warnings.showwarning = lambda *a, **k: None
    from bot.engine import Engine
    from bot.stats import Stats

    with tempfile.TemporaryDirectory(prefix="signpost-turn-ab-") as folder:
        engine = Engine.load(stats=Stats(str(Path(folder) / "stats.db")))
        await engine.reply("cold-start", "hi")
        off = [name for name in args.off.split(",") if name]
        print(f"load average at start {os.getloadavg()[0]:.2f}; off in 'before': {', '.join(off)}", flush=True)
        runs = []
        for run in range(args.runs):
            sides = [Side(engine, f"before{run}", off), Side(engine, f"after{run}", [])]
            for number, steps in enumerate(scripts(args.conversations, args.seed)):
                for side in sides if number % 2 == 0 else sides[::-1]:  # who goes first alternates
                    await side.play(number, steps)
            before, after = (side.summary() for side in sides)
            same = sides[0].answers == sides[1].answers
            print(f"run {run}: before {before}\n       after  {after}\n       same answers: {same}", flush=True)
            runs.append((before, after, same))
        Side(engine, "restore", []).use()
        engine.agent.processor._predict_next_with_tracker = engine.predictions
        for label, position in (("before", 0), ("after", 1)):
            medians = {
                key: round(statistics.median(r[position][key] for r in runs), 2)
                for key in ("p50_ms", "p95_ms", "p99_ms", "cpu_p50_ms", "cpu_p95_ms")
            }
            print(f"{label}: median of {len(runs)} runs {medians}")
        print(f"same answers in every run: {all(r[2] for r in runs)}; load average at end {os.getloadavg()[0]:.2f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.turn_ab", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="A/B runs of the whole pass (default 3)")
    parser.add_argument("--conversations", type=int, default=1200, help="conversations per round, as make bench")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--off", default=",".join(SWITCHES), help=f"speed-ups off in 'before' ({', '.join(SWITCHES)})")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
