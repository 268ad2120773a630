"""Read the project's domain and training data the way Rasa merges them."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot import domain_files
from tests.helpers import REPO


def domain() -> dict:
    """The whole domain merged as Rasa merges it (intents, responses, actions...)."""
    return domain_files.merged(REPO)


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
