"""Where the domain lives, read as Rasa merges it, without importing Rasa.

The domain is ``domain.yml``; the IPT topic answers sit beside their NLU examples in
``data/nlu/ipt_*.yml`` (Rasa merges ``responses:`` from training data into the domain). Code
that reads responses or buttons from the files (the payload allow-list, tests, scripts) reads
them through here, so a response moved between the two places is still found.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DOMAIN = REPO / "domain.yml"
DATA = REPO / "data"


def files(repo: Path = REPO) -> list[Path]:
    """domain.yml and every training data file that holds responses."""
    found = [repo / "domain.yml"]
    for path in sorted((repo / "data").rglob("*.yml")):
        if "responses" in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}):
            found.append(path)
    return found


def _name(item: object) -> str:
    return item if isinstance(item, str) else next(iter(item))  # type: ignore[call-overload]


@lru_cache(maxsize=4)
def merged(repo: Path = REPO) -> dict:
    """intents, entities, actions (names), slots, forms and responses of the whole domain."""
    out: dict = {"intents": [], "entities": [], "actions": [], "slots": {}, "forms": {},
                 "responses": {}}
    for path in files(repo):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in ("intents", "entities", "actions"):
            out[key].extend(_name(x) for x in data.get(key) or [])
        for key in ("slots", "forms", "responses"):
            out[key].update(data.get(key) or {})
    return out
