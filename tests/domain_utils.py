"""Read the project's domain and training data the way Rasa merges them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from tests.helpers import REPO


@cache
def domain() -> dict:
    """All files under domain/ merged (intents, responses, actions...)."""
    merged: dict = {"intents": [], "responses": {}, "actions": []}
    for path in sorted((REPO / "domain").rglob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        for intent in data.get("intents", []):
            merged["intents"].append(intent if isinstance(intent, str) else next(iter(intent)))
        merged["responses"].update(data.get("responses", {}) or {})
        merged["actions"].extend(data.get("actions", []) or [])
    return merged


def nlu_examples(folder: Path) -> dict[str, list[str]]:
    """intent -> examples from every Rasa NLU YAML file under ``folder``."""
    out: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        for block in data.get("nlu", []) or []:
            if "intent" not in block:
                continue
            lines = [ln.strip()[2:].strip() for ln in block["examples"].splitlines()
                     if ln.strip().startswith("- ")]
            out.setdefault(block["intent"], []).extend(lines)
    return out


def rules_text() -> str:
    return "\n".join(p.read_text() for p in sorted((REPO / "data").rglob("*.yml")))
