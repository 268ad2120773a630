"""Rasa's training cache sees the crisis detector's negatives and examples files (fingerprint_addon)."""

from __future__ import annotations

from rasa.engine.training import fingerprinting

from bot.rasa_ext.nlu.crisis import CrisisDetector


def _key(config: dict) -> str:
    """The fingerprint key Rasa computes for the detector's node (same inputs every time)."""
    return fingerprinting.calculate_fingerprint_key(CrisisDetector, config, inputs={})


def test_a_change_to_the_negatives_file_changes_the_fingerprint(tmp_path):
    negatives = tmp_path / "negatives.txt"
    negatives.write_text("# everyday talk\nmy feet are killing me\n", encoding="utf-8")
    config = {**CrisisDetector.get_default_config(), "negatives_file": str(negatives)}
    before_addon, before_key = CrisisDetector.fingerprint_addon(config), _key(config)
    assert CrisisDetector.fingerprint_addon(config) == before_addon  # stable
    assert _key(config) == before_key

    negatives.write_text("# everyday talk\nmy feet are killing me\nphoned my brother\n",
                         encoding="utf-8")
    assert CrisisDetector.fingerprint_addon(config) != before_addon
    assert _key(config) != before_key  # Rasa retrains the detector, no --force needed

    negatives.unlink()
    missing = CrisisDetector.fingerprint_addon(config)
    assert missing not in (before_addon, None)


def test_the_default_config_fingerprints_the_repository_negatives_file(monkeypatch):
    from tests.helpers import REPO

    monkeypatch.chdir(REPO)
    addon = CrisisDetector.fingerprint_addon({})
    assert addon == CrisisDetector.fingerprint_addon(CrisisDetector.get_default_config())
    assert addon != CrisisDetector.fingerprint_addon({"negatives_file": "no/such/file.txt"})


def test_a_change_to_the_examples_file_changes_the_fingerprint(tmp_path):
    examples = tmp_path / "examples.tsv"
    examples.write_text("category\ttext\nsuicide\ti keep wishing i would not wake up\n",
                        encoding="utf-8")
    config = {**CrisisDetector.get_default_config(), "examples_file": str(examples)}
    before = _key(config)
    examples.write_text("category\ttext\nsuicide\ti keep wishing i would not wake up\n"
                        "overdose\ttook the whole box of my tablets\n", encoding="utf-8")
    assert _key(config) != before


def test_the_examples_file_is_read_with_its_categories_and_a_bad_line_is_refused(tmp_path):
    import pytest

    from bot.rasa_ext.nlu.crisis import read_examples
    from tests.helpers import REPO

    rows = read_examples(REPO / "data" / "safety" / "crisis_examples.tsv")
    assert len(rows) > 500 and {c for c, _ in rows} >= {"suicide", "overdose", "medical"}
    bad = tmp_path / "bad.tsv"
    bad.write_text("category\ttext\nsuicidal\tsomething\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv:2"):
        read_examples(bad)
