"""`make bench`: Signpost's speed, memory and scale, side by side with stock `rasa run` on the same model, in one run.

    .venv/bin/python -m benchmarks.run             # the full run; writes benchmarks/results.json
    .venv/bin/python -m benchmarks.run --quick     # tiny counts, a minute or two: checks that everything works

Every process it starts is its own child, on 127.0.0.1 only, and is stopped by its id at the end. See
benchmarks/README.md for what each figure means.
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from benchmarks.conversations import Turn
from benchmarks.measure import now, quiet_env
from benchmarks.processes import BIN, child, next_report, tail
from benchmarks.table import figures, format_table
from benchmarks.targets import Target, measure_side_by_side, stock_target, telegram_target
from bot.settings import ROOT

RESULTS = ROOT / "benchmarks" / "results.json"


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="50,200", help="simulated people at once, one run each (default 50,200)")
    parser.add_argument("--conversations-per-user", type=int, default=6)
    parser.add_argument("--think", default="0.1,0.5", help="pause between a person's turns, uniform MIN,MAX seconds")
    parser.add_argument("--classify-messages", type=int, default=2000)
    parser.add_argument(
        "--memory-conversations",
        type=int,
        default=10_000,
        help="distinct conversations before the 'after' memory reading",
    )
    parser.add_argument(
        "--memory-extra", type=int, default=5_000, help="further conversations to check that memory stays flat"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="measured runs of each system per number of people, alternating (default 2)",
    )
    parser.add_argument("--turn-timeout", type=float, default=30.0)
    parser.add_argument("--run-timeout", type=float, default=600.0)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-telegram", action="store_true")
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--skip-speedups-off", action="store_true", help="skip the SIGNPOST_SPEEDUPS=0 engine pass")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny counts (2 and 4 people, 1 conversation each, 60 memory conversations)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.conversations_per_user, args.think = "2,4", 1, "0,0.02"
        args.classify_messages, args.memory_conversations, args.memory_extra = 20, 40, 20
        args.rounds = 1
    args.user_counts = [int(u) for u in args.users.split(",")]
    low, high = (float(x) for x in args.think.split(","))
    args.think_range = (low, high)
    return args


# ---------------------------------------------------------------------------------------------------------------
# 1. Training


async def measure_training(tmp: Path) -> Dict[str, Any]:
    """`signpost train --force` in a fresh process, into a temporary models folder with an empty Rasa cache."""
    env = quiet_env(SIGNPOST_MODELS_DIR=str(tmp / "trained"), RASA_CACHE_DIRECTORY=str(tmp / "rasa-cache"))
    log = tmp / "training.log"
    started = now()
    async with child([str(BIN / "signpost"), "train", "--force"], log, env) as process:
        code = await asyncio.wait_for(process.wait(), 1800)
    if code != 0:
        raise RuntimeError(f"training failed (code {code}):\n{tail(log)}")
    return {"seconds": round(now() - started, 1)}


# ---------------------------------------------------------------------------------------------------------------
# 2. The engine in-process: cold start, memory, NLU and full-turn latency


async def engine_worker(config: Dict[str, Any], log: Path, env: Dict[str, str]) -> Dict[str, Dict[str, Any]]:
    """Run benchmarks/engine_worker.py once; its reports by event, with the time it was started."""
    started = now()
    command = [sys.executable, "-m", "benchmarks.engine_worker", json.dumps(config)]
    reports: Dict[str, Dict[str, Any]] = {"started": {"at": started}}
    async with child(command, log, env, reports=True) as process:
        for event, timeout in (
            ("first_answer", 600),
            ("classify", 1800),
            ("classify_long", 1800),
            ("full_turn", 3600),
            ("memory", 7200),
        ):
            reports[event] = await next_report(process, event, timeout, log)
        await asyncio.wait_for(process.wait(), 60)
    return reports


def _engine_config(args: argparse.Namespace, tmp: Path, model: Path, name: str, **changes: Any) -> Dict[str, Any]:
    config = {
        "model": str(model),
        "stats_db": str(tmp / f"{name}-stats.db"),
        "oracle_out": str(tmp / f"{name}-conversations.json"),
        "conversations": max(args.user_counts) * args.conversations_per_user,
        "seed": args.seed,
        "classify_messages": args.classify_messages,
        "memory_conversations": args.memory_conversations + args.memory_extra,
        "memory_every": max(1, args.memory_conversations // 10),
    }
    config.update(changes)
    return config


async def measure_engine(args: argparse.Namespace, tmp: Path, model: Path) -> Tuple[Dict[str, Any], List[List[Turn]]]:
    config = _engine_config(args, tmp, model, "engine")
    # Speed-ups on here whatever the caller's setting, so the table always has both figures.
    reports = await engine_worker(config, tmp / "engine.log", quiet_env(SIGNPOST_SPEEDUPS="1"))
    started, first, classify, classify_long, full_turn, memory = (
        reports[e] for e in ("started", "first_answer", "classify", "classify_long", "full_turn", "memory")
    )
    started = started["at"]
    points = memory["points"]
    at_bound = next(p for p in points if p["conversations"] >= args.memory_conversations)
    result = {
        "cold_start_s": round(first["at"] - started, 2),
        "cold_start_parts_s": {
            "python_and_imports": round(first["imported_at"] - started, 2),
            "model_load": round(first["loaded_at"] - first["imported_at"], 2),
            "first_answer": round(first["at"] - first["loaded_at"], 2),
        },
        "rss_after_load_mb": first["rss_after_load_mb"],
        "rss_after_conversations_mb": at_bound["rss_mb"],
        "conversations_for_memory": at_bound["conversations"],
        "rss_final_mb": points[-1]["rss_mb"],
        "rss_growth_after_bound_mb": round(points[-1]["rss_mb"] - at_bound["rss_mb"], 1),
        "memory_points": points,
        "tracker_store_bound": memory["max_conversations"],
        "classify": classify["latency"],
        "classify_long": classify_long["latency"],
        "full_turn": full_turn["latency"],
        "full_turn_prediction_cache": full_turn["prediction_cache"],
        "full_turn_failures": full_turn["failures"],
    }
    turns = [
        [Turn.from_dict(t) for t in conversation]
        for conversation in json.loads(Path(config["oracle_out"]).read_text(encoding="utf-8"))
    ]
    return result, turns


async def measure_without_speedups(args: argparse.Namespace, tmp: Path, model: Path) -> Dict[str, Any]:
    """The same NLU and full-turn passes with SIGNPOST_SPEEDUPS=0 (stock Rasa inside the engine), so the gain the
    speed-ups buy stays visible; the conversations' answers must be the same as with them."""
    config = _engine_config(
        args,
        tmp,
        model,
        "stock-internals",
        classify_messages=max(20, args.classify_messages // 4),
        memory_conversations=0,
    )
    reports = await engine_worker(config, tmp / "stock-internals.log", quiet_env(SIGNPOST_SPEEDUPS="0"))
    with_speedups = _engine_config(args, tmp, model, "engine")["oracle_out"]
    same = Path(config["oracle_out"]).read_text(encoding="utf-8") == Path(with_speedups).read_text(encoding="utf-8")
    return {
        "classify": reports["classify"]["latency"],
        "classify_long": reports["classify_long"]["latency"],
        "full_turn": reports["full_turn"]["latency"],
        "same_answers": same,
    }


def machine() -> Dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


async def bench(args: argparse.Namespace) -> Dict[str, Any]:
    from bot.model_files import latest_model

    source = latest_model()
    results: Dict[str, Any] = {
        "machine": machine(),
        "model": source.name,
        "settings": {
            "users": args.user_counts,
            "conversations_per_user": args.conversations_per_user,
            "think_s": list(args.think_range),
            "classify_messages": args.classify_messages,
            "memory_conversations": args.memory_conversations,
            "memory_extra": args.memory_extra,
            "seed": args.seed,
            "rounds": args.rounds,
            "quick": args.quick,
        },
    }
    with tempfile.TemporaryDirectory(prefix="signpost-bench-") as folder:
        tmp = Path(folder)
        # A copy: a training elsewhere (make test) replaces models/ and must not change the model under test.
        model = tmp / "models" / source.name
        model.parent.mkdir()
        shutil.copyfile(source, model)
        try:
            if not args.skip_training:
                print("training (a fresh model in a temporary folder)...", file=sys.stderr)
                results["training"] = await measure_training(tmp)
            print("engine in-process: cold start, latency, memory...", file=sys.stderr)
            results["engine"], conversations = await measure_engine(args, tmp, model)
            results["conversations"] = {"resolved": len(conversations), "turns": sum(len(c) for c in conversations)}
            if not args.skip_speedups_off:
                print("engine in-process with SIGNPOST_SPEEDUPS=0...", file=sys.stderr)
                results["engine_without_speedups"] = await measure_without_speedups(args, tmp, model)
            async with AsyncExitStack() as stack:
                targets: Dict[str, Target] = {}
                if not args.skip_telegram:
                    print("starting signpost telegram with the fake Telegram server...", file=sys.stderr)
                    targets["telegram"] = await stack.enter_async_context(
                        telegram_target(args, tmp, model, conversations)
                    )
                if not args.skip_stock:
                    print("starting stock rasa run...", file=sys.stderr)
                    targets["stock_rasa"] = await stack.enter_async_context(
                        stock_target(args, tmp, model, conversations)
                    )
                print(f"end to end, {args.rounds} alternating rounds each...", file=sys.stderr)
                await measure_side_by_side(args, targets)
                for name, target in targets.items():
                    results[name] = target.out
        except Exception:
            for log in sorted(tmp.glob("*.log")):
                print(f"--- {log.name} (last lines)\n{tail(log)}", file=sys.stderr)
            raise
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["table"] = figures(results, args.user_counts)
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    results = asyncio.run(bench(args))
    print(format_table(results["table"]))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
