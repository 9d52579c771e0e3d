"""No deep copies made only to be handed to a debug log line that is never written.

Rasa's processor deep-copies every action's events (and its policies their dialogue states) as the arguments of
`structlogger.debug(...)` calls; the copy is made before the call, though Signpost's logging (bot/privacy.py)
drops every debug event: about a tenth of a turn. In these modules every use of the `copy` module is such a debug
argument (`install` reads their source to make sure, and leaves a module alone otherwise), so their module-level
`copy` is swapped for `DebugCopies`: its `deepcopy` hands the value back as it is while structlog drops debug
events, and copies as Rasa does when debug events are written. The swap is for the whole process, so an engine
loaded with `SIGNPOST_SPEEDUPS=0` puts Rasa's `copy` back (`uninstall`).
Checked by tests/test_speedups.py.
"""

import ast
import copy
import importlib
import inspect
from types import ModuleType
from typing import Any, List, Optional

import structlog
from structlog._native import _nop

MODULES = ("rasa.core.processor", "rasa.core.policies.memoization", "rasa.core.policies.rule_policy")


def debug_dropped() -> bool:
    """Whether structlog's configured logger drops debug events (Signpost's logging always does)."""
    return getattr(structlog.get_config().get("wrapper_class"), "debug", None) is _nop


class DebugCopies:
    """Stands in for the `copy` module in a Rasa module whose only copies are debug-log arguments."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Optional[dict] = None) -> Any:
        return value if debug_dropped() else copy.deepcopy(value, memo)


def only_debug_copies(module: ModuleType) -> bool:
    """True if every `copy.<name>` in the module's source is a `copy.deepcopy(...)` argument of a `*.debug(...)`
    call."""
    tree = ast.parse(inspect.getsource(module))
    in_debug = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "debug":
            for argument in list(node.args) + [k.value for k in node.keywords]:
                if isinstance(argument, ast.Call):
                    in_debug.add(id(argument.func))
    uses = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "copy"
    ]
    return all(node.attr == "deepcopy" and id(node) in in_debug for node in uses)


def install() -> List[str]:
    """Swap `copy` in each of MODULES that passes `only_debug_copies`; the names of the modules that have it."""
    done = []
    for name in MODULES:
        module = importlib.import_module(name)
        if isinstance(getattr(module, "copy", None), DebugCopies):
            done.append(name)
        elif getattr(module, "copy", None) is copy and only_debug_copies(module):
            module.copy = DebugCopies()
            done.append(name)
    return done


def uninstall() -> None:
    """Rasa's own `copy` module back in every module that has `DebugCopies`."""
    for name in MODULES:
        module = importlib.import_module(name)
        if isinstance(getattr(module, "copy", None), DebugCopies):
            module.copy = copy
