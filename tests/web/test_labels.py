"""The widget's labels: every language has every label the widget reads.

A missing key does not fail in the browser; the widget would show "undefined" on a button or
in a confirm box for that language only, so nobody testing in English would notice.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests.helpers import REPO

SRC = REPO / "web" / "src"


@pytest.fixture(scope="module")
def labels() -> dict[str, dict[str, str]]:
    """LABELS as the bundle sees it: web/src/labels.js imported by Node, not parsed by hand."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (it builds the widget)")
    script = "import(process.argv[1]).then(m => console.log(JSON.stringify(m.LABELS)))"
    out = subprocess.run(
        [node, "--input-type=module", "-e", script, (SRC / "labels.js").as_uri()],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return json.loads(out.stdout)


def keys_the_widget_reads() -> set[str]:
    """Every ``t.<key>`` / ``this.t.<key>`` in widget.js."""
    return set(re.findall(r"\bt\.([A-Za-z]+)", (SRC / "widget.js").read_text(encoding="utf-8")))


def test_the_widget_reads_labels_we_can_find() -> None:
    # Guards the scan below: if the widget stopped naming its labels as t.<key>, the
    # comparison would pass on nothing.
    assert {"send", "forget", "forgetConfirm", "close"} <= keys_the_widget_reads()


def test_every_label_the_widget_reads_is_in_english(labels) -> None:
    assert keys_the_widget_reads() - set(labels["en"]) == set()


def test_every_language_has_every_key_filled(labels) -> None:
    assert len(labels) >= 2
    for lang, block in labels.items():
        assert set(block) == set(labels["en"]), lang
        for key, text in block.items():
            assert isinstance(text, str) and text.strip(), (lang, key)


def test_translations_keep_placeholders_and_are_translated(labels) -> None:
    for lang, block in labels.items():
        if lang == "en":
            continue
        for key, english in labels["en"].items():
            placeholders = re.findall(r"\{\w+\}", english)
            assert re.findall(r"\{\w+\}", block[key]) == placeholders, (lang, key)
            # The same text as in English is a forgotten copy.
            assert block[key] != english, (lang, key)
