"""The package's rooms and floors (bot/__init__.py, docs/architecture.md), checked on its imports.

Every import counts, at module level or inside a function: a function-level import is still a
dependency, only a later one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPO

BASE = {"bot", "bot.settings", "bot.domain_files", "bot.limits", "bot.signing", "bot.payloads",
        "bot.commands"}
# room -> floor; an import goes to the same room or to a lower floor, never sideways between
# two rooms of one floor (Rasa's extensions and the services do not know each other).
FLOORS = {"base": 0, "clinic": 1, "rasa_ext": 2, "services": 2, "launch": 3}


def _modules(root: Path, package: str) -> dict[str, Path]:
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules(REPO, "bot")


def _imports(path: Path) -> set[str]:
    """The modules of ours (bot.*) that ``path`` imports, resolved to existing modules."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for name in names:
            while name not in MODULES and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in MODULES and name.startswith("bot"):
                found.add(name)
    return found


def room(module: str) -> str:
    if module in BASE:
        return "base"
    parts = module.split(".")
    assert parts[1] in FLOORS, f"{module} is in no room: put it in one (bot/__init__.py)"
    return parts[1]


def graph() -> dict[str, set[str]]:
    return {m: _imports(p) - {m} for m, p in MODULES.items()}


def test_every_module_is_in_a_room():
    for module in MODULES:
        room(module)


def test_imports_only_go_down_or_stay_in_their_room():
    wrong = []
    for module, targets in graph().items():
        for target in targets:
            here, there = room(module), room(target)
            if here != there and FLOORS[there] >= FLOORS[here]:
                wrong.append(f"{module} ({here}) imports {target} ({there})")
    assert not wrong, "\n".join(sorted(wrong))


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path)
        path.pop()
        state[node] = "done"

    for node in sorted(g):
        if node not in state:
            visit(node, [])
    return found


def test_no_import_circle():
    assert cycles(graph()) == []


def test_the_checks_can_fail():
    # A circle and an upward import, made up, are caught by the same functions.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert FLOORS[room("bot.launch.run")] > FLOORS[room("bot.clinic.reminders")]
    with pytest.raises(AssertionError):
        room("bot.loose_module")


@pytest.mark.parametrize("package", ["bot/clinic", "bot/services/web", "bot/services/telegram"])
def test_the_clinic_and_the_edge_do_not_import_rasa(package):
    # The clinic's domain is plain Python; the processes facing the internet run without Rasa.
    for path in sorted((REPO / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert not roots & {"rasa", "rasa_sdk"}, f"{path.relative_to(REPO)} imports Rasa"


def test_actions_reach_only_the_clinic_and_the_base():
    for path in sorted((REPO / "actions").glob("*.py")):
        for target in _imports(path):
            assert room(target) in ("clinic", "base"), f"{path.name} imports {target}"


def test_patches_refuse_another_rasa_version():
    from bot.rasa_ext import patches

    patches.require_pinned_rasa(patches.PINNED_RASA)
    with pytest.raises(patches.UnsupportedRasa, match="3.7.0 is installed"):
        patches.require_pinned_rasa("3.7.0")
