"""Every button in the domain fits Telegram's callback data, so it survives restarts."""

from __future__ import annotations

import yaml

from bot import domain_files
from tests.helpers import REPO


def _buttons(node: object):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "buttons" and isinstance(value, list):
                yield from (b for b in value if isinstance(b, dict))
            else:
                yield from _buttons(value)
    elif isinstance(node, list):
        for item in node:
            yield from _buttons(item)


def test_domain_button_payloads_fit_in_64_bytes():
    # Longer payloads still work, but through an id kept in memory that a restart forgets.
    files = domain_files.files(REPO)
    payloads = [
        str(b["payload"])
        for f in files
        for b in _buttons(yaml.safe_load(f.read_text()))
        if b.get("payload")
    ]
    assert payloads, "no buttons found: has the domain moved?"
    too_long = [p for p in payloads if len(p.encode()) > 64]
    assert too_long == []
