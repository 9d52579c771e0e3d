"""The import rules of docs/architecture.md, checked by reading every import statement in bot/ (module level or
inside a function alike) with `ast`: nothing is imported, so this needs no Rasa."""

import ast
from pathlib import Path
from typing import Dict, Iterator, Set, Tuple

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"

RASA = ("rasa", "tensorflow", "skops")
CHANNELS = ("bot.channels",)
# The in-process engine (Rasa). bot.engine.process and bot.engine.protocol are the Telegram side of the engine's own
# process and import no Rasa; only its child (bot.engine.serve) loads the engine.
ENGINE = ("bot.engine.engine", "bot.engine.serve", "bot.engine.context", "bot.engine.counting", "bot.engine.events")
RASA_FREE_CORE = (
    "bot.settings",
    "bot.concerns",
    "bot.replies",
    "bot.service_numbers",
    "bot.model_files",
    "bot.privacy",
    "bot.long_messages",
    "bot.channel_texts",
)

# (modules the rule is about, imports they must never make, why)
RULES = [
    (CHANNELS, RASA + ("bot.rasa_ext",), "a channel never imports Rasa or a Rasa plug-in"),
    (("bot.channels.telegram",), ENGINE, "the Telegram process talks to the engine process, never to an engine"),
    (("bot.stats", "bot.privacy"), CHANNELS, "statistics and privacy never import a channel"),
    (("bot.stats", "bot.privacy"), RASA + ("bot.rasa_ext",) + ENGINE, "statistics and privacy need no Rasa"),
    (
        ("bot.safety",),
        RASA + ("bot.rasa_ext", "bot.engine") + CHANNELS + ("bot.stats", "bot.tools"),
        "the safety net's pure layer imports no Rasa and nothing above it",
    ),
    (
        ("bot.engine.process", "bot.engine.protocol"),
        RASA + ("bot.rasa_ext",) + ENGINE,
        "the engine process's Telegram side imports no Rasa",
    ),
    (
        ("bot.rasa_ext",),
        ("bot.engine", "bot.channels", "bot.tools", "bot.stats", "bot.cli"),
        "Rasa's plug-ins know nothing of the engine, the channels, the tools or the statistics",
    ),
    (
        RASA_FREE_CORE,
        RASA + ("bot.rasa_ext",) + ENGINE + CHANNELS + ("bot.tools", "bot.cli"),
        "the small shared modules import no Rasa and nothing above them",
    ),
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[str]:
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)  # "from bot import engine"


def _under(name: str, prefixes: Tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _all_imports() -> Dict[str, Set[str]]:
    return {_module_name(path): set(_imports(path)) for path in sorted(BOT.rglob("*.py"))}


IMPORTS = _all_imports()


@pytest.mark.parametrize("modules, forbidden, why", RULES, ids=[rule[2] for rule in RULES])
def test_import_rule(modules, forbidden, why):
    broken = sorted(
        f"{module} imports {name}"
        for module, names in IMPORTS.items()
        if _under(module, modules)
        for name in names
        if _under(name, forbidden)
    )
    assert not broken, f"{why}: " + "; ".join(broken)


def test_only_the_command_line_imports_the_tools_and_nothing_imports_it():
    broken = sorted(
        f"{module} imports {name}"
        for module, names in IMPORTS.items()
        for name in names
        if (_under(name, ("bot.tools",)) and not _under(module, ("bot.cli", "bot.tools")))
        or (_under(name, ("bot.cli",)) and module != "bot.cli")
    )
    assert not broken, "; ".join(broken)


def test_the_rules_see_every_package():
    # A rule about a package that no longer exists would pass by checking nothing.
    for modules, _, why in RULES:
        assert all(any(_under(m, (prefix,)) for m in IMPORTS) for prefix in modules), why
