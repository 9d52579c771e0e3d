"""A/B of the NLU speed-ups against an earlier commit's code, in one process: `python -m benchmarks.speedups_ab`.

The machine is shared, and its speed drifts by the minute, so two runs minutes apart can't show a change of a few
milliseconds. Here one engine is loaded once, and the code paths of `--base` (a commit: the safety rules, the
featurizer and the engine's long-message reading as they were there, read with `git show`) and of this checkout
take turns message by message over the same messages, many times. Both answers are compared on every call (intent,
confidence to 1e-9, ranking, entities, the safety verdict, the long-message note), and the timings (wall clock and
the thread's CPU time) are printed per path: p50 and p95 of the benchmark's 100-word messages and of its ordinary
messages, with the machine's load average at the start and the end.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
import types
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, List

from benchmarks.conversations import LONG_MESSAGES, all_texts
from benchmarks.measure import percentile

ROOT = Path(__file__).resolve().parent.parent
BASE = "4fef0d7"  # main when this branch began


def _module_at(commit: str, path: str, name: str, overrides: Dict[str, Any]) -> types.ModuleType:
    """The module's source at a commit, run as a module of its own (its imports are this checkout's)."""
    source = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True)
    module = types.ModuleType(name)
    module.__file__ = str(ROOT / path)
    sys.modules[name] = module  # dataclasses look their module up while the source runs
    exec(compile(source.stdout, path, "exec"), module.__dict__)
    module.__dict__.update(overrides)
    return module


class Paths:
    """The base's and this checkout's code paths on one engine; `use(old)` switches between them."""

    def __init__(self, engine: Any, base: str) -> None:
        import spacy

        from bot.rasa_ext.safety_net import SafetyNet
        from bot.rasa_ext.speedups import featurizer as new_featurizer

        self.engine = engine
        runner = engine.agent.processor.graph_runner
        nodes = runner._nodes
        self.safety = next(node._component for node in nodes.values() if isinstance(node._component, SafetyNet))

        def fresh_nlp():  # the base's rules get a vocabulary of their own, with no words kept in it
            nlp = spacy.blank("en")
            nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
            nlp.initialize()
            return nlp

        old_languages = _module_at(base, "bot/safety/languages.py", "ab_old_languages", {})
        old_rules = _module_at(
            base, "bot/safety/rules.py", "ab_old_rules", {"is_unreadable": old_languages.is_unreadable}
        )
        own_nlp = fresh_nlp()
        old_rules._blank_nlp = lambda: own_nlp
        rows = [row for path in _pattern_files() for row in _load(path)]
        self.rules = {False: self.safety.rules, True: old_rules.SafetyRules(rows, self.safety.rules.words)}
        old_featurizer = _module_at(base, "bot/rasa_ext/speedups/featurizer.py", "ab_old_featurizer", {})
        self.featurizers = []  # (node, {old: (the function it runs, its counters)})
        for node in nodes.values():
            if node._fn is new_featurizer.process:
                counters = node._component._signpost_word_columns
                # The base counted character n-grams by word only; the rest went through `transform`.
                old_counters = {k: v for k, v in counters.items() if isinstance(v, new_featurizer.WordColumns)}
                ways = {False: (new_featurizer.process, counters), True: (old_featurizer.process, old_counters)}
                self.featurizers.append((node, ways))
        from bot.rasa_ext.classifier import SentenceLogisticRegression

        old_classifier = _module_at(base, "bot/rasa_ext/classifier.py", "ab_old_classifier", {})
        methods = [name for name in ("_create_X", "_features") if name in vars(SentenceLogisticRegression)]
        old_class = old_classifier.SentenceLogisticRegression
        self.classifier = {  # the base's own methods, or this checkout's
            False: {name: getattr(SentenceLogisticRegression, name) for name in methods},
            True: {name: getattr(old_class, name) for name in methods if name in vars(old_class)},
        }
        self.classifier_node = next(
            node for node in nodes.values() if isinstance(node._component, SentenceLogisticRegression)
        )
        self.classifier_component = self.classifier_node._component
        old_engine = _module_at(base, "bot/engine/engine.py", "ab_old_engine", {})
        self.parse = {False: type(engine)._parse, True: old_engine.Engine._parse}
        self.readings = {False: type(engine)._model_readings, True: old_engine.Engine._model_readings}

    def use(self, old: bool) -> None:
        from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

        from bot.rasa_ext.classifier import SentenceLogisticRegression

        self.safety.rules = self.rules[old]
        from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer

        for node, ways in self.featurizers:
            node._fn, node._component._signpost_word_columns = ways[old]
            if old:  # the base's featurizer class had Rasa's own token processing
                node._component._process_tokens = types.MethodType(
                    CountVectorsFeaturizer._process_tokens, node._component
                )
            else:
                vars(node._component).pop("_process_tokens", None)
        component = self.classifier_component
        for name, method in self.classifier[old].items():
            setattr(component, name, types.MethodType(method, component))
        # The graph node calls its class's function: the base's class had Rasa's own `process`.
        self.classifier_node._fn = LogisticRegressionClassifier.process if old else SentenceLogisticRegression.process
        self.engine._parse = types.MethodType(self.parse[old], self.engine)
        self.engine._model_readings = types.MethodType(self.readings[old], self.engine)


def _pattern_files():
    from bot.settings import SAFETY_PATTERN_FILES

    return SAFETY_PATTERN_FILES


def _load(path):
    from bot.safety import load_patterns

    return load_patterns(path)


def reading(parse: Dict[str, Any]) -> Any:
    """Everything the bot reads of a parse, confidences kept as numbers (compared to 1e-9)."""
    ranking = tuple((r["name"], r["confidence"]) for r in parse.get("intent_ranking") or [])
    entities = tuple(sorted((e.get("entity"), e.get("value"), e.get("start"), e.get("end")) for e in parse["entities"]))
    intent = parse["intent"]
    return (
        intent.get("name"),
        intent.get("confidence"),
        ranking,
        entities,
        parse.get("safety"),
        parse.get("long_message"),
    )


def same(a: Any, b: Any) -> bool:
    close = lambda x, y: abs((x or 0.0) - (y or 0.0)) <= 1e-9  # noqa: E731
    return (
        a[0] == b[0]
        and close(a[1], b[1])
        and [n for n, _ in a[2]] == [n for n, _ in b[2]]
        and all(close(x, y) for (_, x), (_, y) in zip(a[2], b[2]))
        and a[3:] == b[3:]
    )


class NodeTimes:
    """The thread's CPU time in each graph node, per code path (`--profile`): where a message's time goes."""

    def __init__(self, engine: Any) -> None:
        self.path = False
        self.times: Dict[bool, Dict[str, float]] = {True: {}, False: {}}
        nodes = engine.agent.processor.graph_runner._nodes
        for name, node in list(nodes.items()):
            nodes[name] = self._timed(name, node)

    def _timed(self, name: str, node: Any) -> Any:
        def call(*args: Any) -> Any:
            start = time.thread_time()
            try:
                return node(*args)
            finally:
                spent = self.times[self.path]
                spent[name] = spent.get(name, 0.0) + time.thread_time() - start

        return call


@contextmanager
def _no_gc():
    import gc

    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def measure(paths: Paths, texts: List[str], rounds: int, nodes: Any = None) -> Dict[bool, Dict[str, List[float]]]:
    """Each text through both paths in turn (which goes first alternates), `rounds` times; answers compared."""
    loop = asyncio.new_event_loop()
    times = {old: {"wall": [], "cpu": []} for old in (True, False)}
    differ = inexact = 0
    for round_ in range(rounds):
        for i, text in enumerate(texts):
            answers = {}
            for old in (True, False) if (round_ + i) % 2 else (False, True):
                paths.use(old)
                if nodes:
                    nodes.path = old
                with _no_gc():
                    wall, cpu = time.perf_counter(), time.thread_time()
                    parse = loop.run_until_complete(paths.engine._parse(text))
                    times[old]["cpu"].append(time.thread_time() - cpu)
                    times[old]["wall"].append(time.perf_counter() - wall)
                answers[old] = reading(parse)
            differ += not same(answers[True], answers[False])
            inexact += answers[True] != answers[False]
    paths.use(False)
    print(f"  answers that differ between the paths: {differ} of {rounds * len(texts)} ({inexact} not bit for bit)")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BASE, help="the commit whose code is 'before' (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=100, help="rounds over the 100-word messages")
    parser.add_argument("--short-rounds", type=int, default=10, help="rounds over the ordinary messages")
    parser.add_argument("--profile", action="store_true", help="also each graph node's CPU time per message")
    args = parser.parse_args()
    from bot.engine import Engine
    from bot.privacy import configure_logging

    configure_logging()
    engine = Engine.load()
    paths = Paths(engine, args.base)
    nodes = NodeTimes(engine) if args.profile else None
    print(f"load average at the start: {os.getloadavg()}")
    for name, texts, rounds in (
        ("100-word messages", list(LONG_MESSAGES), args.rounds),
        ("ordinary messages", all_texts(), args.short_rounds),
    ):
        print(f"{name} ({len(texts)} texts x {rounds} rounds):")
        if nodes:
            nodes.times = {True: {}, False: {}}
        times = measure(paths, texts, rounds, nodes)
        for old in (True, False):
            label = f"base {args.base}" if old else "this checkout"
            parts = [
                f"{kind} p50 {1000 * percentile(v, 50):.2f} / p95 {1000 * percentile(v, 95):.2f} ms"
                for kind, v in times[old].items()
            ]
            print(f"  {label:22s} " + ", ".join(parts))
            if nodes:
                calls = len(times[old]["cpu"])
                spent = sorted(nodes.times[old].items(), key=lambda item: -item[1])
                inside = sum(seconds for _, seconds in spent)
                print(
                    "    CPU ms per message: "
                    + ", ".join(f"{n.split('.')[-1].replace('run_', '')} {1000 * t / calls:.2f}" for n, t in spent[:6])
                )
                print(f"    outside the graph's nodes: {1000 * (sum(times[old]['cpu']) - inside) / calls:.2f}")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
