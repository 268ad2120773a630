"""The clinic configuration: the default works anywhere, a broken file names its field."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.clinic import config as clinic
from tests.helpers import REPO

EXAMPLE = REPO / "clinic.example.yml"


def test_the_built_in_default_names_the_common_emergency_numbers_and_helpline_directories(
    monkeypatch,
):
    monkeypatch.delenv(clinic.ENV_VAR, raising=False)
    config = clinic.load()
    assert config.emergency.startswith("your local emergency number (")
    for number, where in (("112", "Europe"), ("911", "the US and Canada"), ("999", "the UK"),
                          ("000", "Australia")):
        assert f"{number} in " in config.emergency and where in config.emergency
    assert [line.web for line in config.crisis_lines] == [
        "https://findahelpline.com", "https://befrienders.org"]
    assert config.on_call_telegram_chat_id is None
    assert clinic.warnings(config) == []


def test_check_warns_when_a_clinic_lists_no_crisis_lines(tmp_path, capsys):
    path = tmp_path / "clinic.yml"
    path.write_text("name: C\ncountry: Germany\nemergency_number: '112'\n")
    assert clinic.main(["check", str(path)]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "lists no crisis lines" in err
    assert "emergency_number" not in err  # it has one


def test_check_warns_when_a_country_clinic_names_no_emergency_number(tmp_path, capsys):
    path = tmp_path / "clinic.yml"
    path.write_text("name: C\ncountry: Germany\ncrisis_lines:\n  - name: L\n    phone: '0800 111 0 111'\n")
    assert clinic.main(["check", str(path)]) == 0
    err = capsys.readouterr().err
    assert "names no emergency_number for Germany" in err and "crisis lines" not in err


def test_check_of_the_example_clinic_warns_about_nothing(capsys):
    assert clinic.main(["check", str(EXAMPLE)]) == 0
    assert capsys.readouterr().err == ""


def test_the_example_clinic_loads_with_its_lines():
    config = clinic.load(EXAMPLE)
    assert config.name == "Harbourside Wellbeing Clinic"
    assert config.emergency == "555 0100"
    assert [line.name for line in config.crisis_lines] == [
        "Examplia Night Line", "Harbourside on-call nurse"]
    assert config.crisis_lines[0].web == "https://night-line.example.org"
    assert config.on_call_telegram_chat_id == "-1001234567890"
    assert "Examplia Youth Line: 555 0177" in config.young_people_text()
    assert config.lines_text().splitlines()[0] == (
        "- Examplia Night Line: 555 0123, Text TALK to 55501, https://night-line.example.org")


def test_the_example_clinic_has_a_contact_and_the_default_has_none(monkeypatch):
    contact = clinic.load(EXAMPLE).contact
    assert contact == clinic.ContactDetails(
        phone="555 0150", email="appointments@harbourside.example.org",
        web="https://harbourside.example.org/appointments", hours="Monday to Friday, 9am to 5pm")
    assert contact.lines().splitlines()[0] == "- 555 0150"
    assert clinic.load(clinic.DEFAULT_FILE).contact is None


def test_every_contact_field_is_optional_but_one_way_to_reach_the_clinic():
    base = {"name": "C", "country": "X"}
    assert clinic.parse({**base, "contact": None}).contact is None
    assert clinic.parse({**base, "contact": {"phone": 5550150}}).contact == clinic.ContactDetails(
        phone="5550150")
    assert clinic.parse({**base, "contact": {"email": "a@b.example"}}).contact.lines() == (
        "- a@b.example")
    with pytest.raises(clinic.ClinicConfigError, match="needs at least one of phone, email, web"):
        clinic.parse({**base, "contact": {}})


def test_ipt_clinic_file_points_at_the_clinics_own_file(monkeypatch):
    monkeypatch.setenv(clinic.ENV_VAR, str(EXAMPLE))
    assert clinic.load().name == "Harbourside Wellbeing Clinic"


GOOD = "name: C\ncountry: X\n"


@pytest.mark.parametrize(("text", "field"), [
    ("country: X\n", "'name'"),
    ("name: C\n", "'country'"),
    (GOOD + "emergency_number: call the police\n", "'emergency_number'"),
    (GOOD + "emergency_numbr: '112'\n", "'emergency_numbr'"),
    (GOOD + "crisis_lines:\n  - name: Line\n", "'crisis_lines[0]'"),
    (GOOD + "crisis_lines:\n  - phone: '123'\n", "'crisis_lines[0].name'"),
    (GOOD + "crisis_lines:\n  - name: L\n    phone: call me\n", "'crisis_lines[0].phone'"),
    (GOOD + "crisis_lines:\n  - name: L\n    web: ftp://x\n", "'crisis_lines[0].web'"),
    (GOOD + "crisis_lines:\n  - name: L\n    fone: '1'\n", "'crisis_lines[0].fone'"),
    (GOOD + "crisis_lines: nope\n", "'crisis_lines'"),
    (GOOD + "on_call_telegram_chat_id: my chat\n", "'on_call_telegram_chat_id'"),
    (GOOD + "young_people_resources:\n  - name: Y\n", "'young_people_resources[0]'"),
    (GOOD + "name: ''\n", "'name'"),
    (GOOD + "contact: call us\n", "'contact'"),
    (GOOD + "contact:\n  hours: 9 to 5\n", "'contact'"),
    (GOOD + "contact:\n  phone: ring reception\n", "'contact.phone'"),
    (GOOD + "contact:\n  email: reception at clinic\n", "'contact.email'"),
    (GOOD + "contact:\n  web: www.clinic.example\n", "'contact.web'"),
    (GOOD + "contact:\n  web: https://c.example\n  hours: ''\n", "'contact.hours'"),
    (GOOD + "contact:\n  web: https://c.example\n  hours: " + "x" * 61 + "\n",
     "'contact.hours'"),
    (GOOD + "contact:\n  web: https://c.example\n  adress: 1 Quay St\n", "'contact.adress'"),
])
def test_a_broken_file_fails_naming_the_field(tmp_path, text, field):
    path = tmp_path / "clinic.yml"
    path.write_text(text)
    with pytest.raises(clinic.ClinicConfigError) as error:
        clinic.load(path)
    assert field in str(error.value) and str(path) in str(error.value)


@pytest.mark.parametrize("text", ["- a list\n", "name: [unclosed\n", ""])
def test_a_file_that_is_not_a_mapping_fails_clearly(tmp_path, text):
    path = tmp_path / "clinic.yml"
    path.write_text(text)
    with pytest.raises(clinic.ClinicConfigError, match="clinic file"):
        clinic.load(path)


def test_a_missing_file_fails_clearly(tmp_path):
    with pytest.raises(clinic.ClinicConfigError, match="cannot be read"):
        clinic.load(tmp_path / "nope.yml")


def test_check_prints_a_summary_and_exits_zero(capsys):
    assert clinic.main(["check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "Harbourside Wellbeing Clinic" in out and "crisis lines: 2" in out
    assert "on-call Telegram chat: set" in out
    assert "clinic contact: phone, email, web, hours" in out


def test_check_of_a_broken_file_exits_one_naming_the_field(tmp_path, capsys):
    path = tmp_path / "clinic.yml"
    path.write_text("name: C\n")
    assert clinic.main(["check", str(path)]) == 1
    assert "'country' is required" in capsys.readouterr().err


def test_check_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "bot.clinic.config", "check"], check=False, cwd=REPO,
                            capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "your local emergency number (112 in most of Europe" in result.stdout


def test_an_edited_clinic_file_is_read_again_and_an_unchanged_one_is_not(tmp_path):
    import os

    file = tmp_path / "clinic.yml"
    file.write_text(clinic.DEFAULT_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    first = clinic.load(file)
    assert clinic.load(file) is first  # unchanged: not parsed again
    text = file.read_text(encoding="utf-8")
    file.write_text(text.replace(f"name: {first.name}", "name: Harbour Street Clinic", 1),
                    encoding="utf-8")
    stat = file.stat()
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert clinic.load(file).name == "Harbour Street Clinic"
    file.write_text("name: [broken", encoding="utf-8")
    with pytest.raises(clinic.ClinicConfigError):
        clinic.load(file)
