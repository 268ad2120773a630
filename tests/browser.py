"""Chromium for the browser tests, and axe-core's accessibility check inside it.

One place launches the browser (Debian's chromium driven by Playwright, no browser download),
for the widget's tests (tests/web/) and the console's (tests/console/); the ``browser`` fixture
in tests/conftest.py uses it.

``assert_accessible(page)`` injects axe-core (web/node_modules/axe-core, pinned in
web/package.json) into the page and fails on any violation of the WCAG 2.0 and 2.1 level A and
AA rules, plus the few rules named in ``EXTRA_RULES``. axe reads open shadow roots, so the chat
widget's panel is checked too. What axe cannot see (focus staying in a modal dialog, the order
Tab visits things in) the tests check with the keyboard.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest

from tests.helpers import REPO

CHROMIUM = Path("/usr/bin/chromium")
# The flags the machine notes ask for: no sandbox as root, and no calls home, which this
# machine's closed network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]

AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
# axe-core's tags for the success criteria of WCAG 2.0 and 2.1, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Rules outside those tags that found real faults here once (issue 22), kept on so they stay
# fixed: the accessible name must contain the visible label (WCAG 2.5.3, "experimental" in
# axe, so off unless named), and a page has one banner landmark (best practice).
EXTRA_RULES = ["label-content-name-mismatch", "landmark-no-duplicate-banner",
               "landmark-unique"]

RUN_AXE = """async (options) => {
    const result = await axe.run(document, options);
    return result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })),
    }));
}"""


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium (Playwright's sync API), closed on exit."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make system-deps` (scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@cache
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE.relative_to(REPO)} is missing: run scripts/build-widget.sh "
                    "(it installs web/package-lock.json's packages)")
    return AXE.read_text(encoding="utf-8")


def axe_violations(page, rules: list[str] | None = None) -> list[dict]:
    """axe-core's violations on the page as it is now (WCAG 2.0/2.1 A and AA, ``EXTRA_RULES``).

    ``rules`` runs only those rules instead (the test that shows the check can fail).
    """
    # Evaluated through the DevTools protocol, not as a <script>: the pages' Content Security
    # Policy stays on and does not have to allow us.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(f"() => {{ {axe_source()}\n}}")
        # axe.min.js defines window.axe when it runs in a page (its UMD wrapper)
        assert page.evaluate("() => typeof window.axe === 'object'"), "axe-core did not load"
    if rules:
        options = {"runOnly": {"type": "rule", "values": rules}}
    else:
        options = {"runOnly": {"type": "tag", "values": WCAG_TAGS},
                   "rules": {rule: {"enabled": True} for rule in EXTRA_RULES}}
    options["resultTypes"] = ["violations"]
    return page.evaluate(RUN_AXE, options)


def describe(violations: list[dict]) -> str:
    """Violations as readable lines for an assertion message."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    at {json.dumps(node['target'])}: {node['summary']}".replace("\n", " "))
    return "\n".join(lines)


def assert_accessible(page, where: str) -> None:
    """Fail with every axe-core violation on the page, naming ``where`` it was checked."""
    violations = axe_violations(page)
    assert violations == [], f"axe-core, {where}:\n{describe(violations)}"
