"""Rasa's NLU and policy graph run node by node on the calling thread instead of through dask.

Replaces the processor's `DaskGraphRunner` (reading its private `_graph_schema` and `_instantiated_nodes`). Checked
by tests/test_engine.py (every held-out message parses exactly as with Rasa's dask runner).
"""

from typing import Any, Dict, FrozenSet, List, Optional, Tuple

from rasa.core.agent import Agent
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner


class SequentialGraphRunner:
    """Rasa's graph run node by node on the calling thread, in an order worked out once per set of targets.

    It runs the very nodes of Rasa's DaskGraphRunner, which on every call rebuilds the graph, has dask schedule it
    (about a tenth of a turn) and formats its inputs, the message included, into a debug line nobody logs.
    """

    def __init__(self, runner: DaskGraphRunner) -> None:
        self.dask_runner = runner
        self._schema = runner._graph_schema
        self._nodes = runner._instantiated_nodes
        self._plans: Dict[Tuple[Tuple[str, ...], FrozenSet[str]], List[Tuple[str, Tuple[str, ...]]]] = {}

    def _plan(self, targets: Tuple[str, ...], given: FrozenSet[str]) -> List[Tuple[str, Tuple[str, ...]]]:
        """(node, the nodes it needs) for every node the targets need, each after what it needs, except the nodes
        whose outputs are given (and what only they need)."""
        schema = self._schema.minimal_graph_schema(list(targets))
        plan: List[Tuple[str, Tuple[str, ...]]] = []
        planned = set(given)

        def add(name: str) -> None:
            if name in planned or name not in schema.nodes:  # planned already, given, or an input
                return
            planned.add(name)
            needs = tuple(schema.nodes[name].needs.values())
            for need in needs:
                add(need)
            plan.append((name, needs))

        for target in targets:
            add(target)
        return plan

    def run(self, inputs: Optional[Dict[str, Any]] = None, targets: Optional[List[str]] = None) -> Dict[str, Any]:
        """The targets' outputs by name, as `DaskGraphRunner.run` returns them.

        An input may also be a node's output (by the node's name): then that node and what only it needs are not
        run. The engine reads a long message's pieces and the whole message up to the classifier in one batch,
        and then runs the rest of the graph on the whole message alone (bot/engine/engine.py).
        """
        wanted = tuple(targets or self._schema.target_names)
        given = frozenset(name for name in inputs or {} if name in self._nodes)
        plan = self._plans.get((wanted, given))
        if plan is None:
            plan = self._plans[(wanted, given)] = self._plan(wanted, given)
        # Like dask: every node gets (name, output) for each node it needs, or the bare name if there is none.
        outputs = {name: (name, value) for name, value in (inputs or {}).items()}
        try:
            for name, needs in plan:
                outputs[name] = self._nodes[name](*(outputs.get(need, need) for need in needs))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(outputs[target] for target in wanted)


def install(agent: Agent) -> None:
    """The agent's processor runs its graph with a `SequentialGraphRunner` (once: a second call changes nothing)."""
    if isinstance(agent.processor.graph_runner, DaskGraphRunner):
        agent.processor.graph_runner = SequentialGraphRunner(agent.processor.graph_runner)
