"""ipt-admin staff ... and client assign."""

from __future__ import annotations

import io
import json
import re
import time

import sqlalchemy as sa

from bot.clinic.store import db
from bot.clinic.store.models import AuditEntry, Staff
from bot.services.admin.cli import main


def run(capsys, monkeypatch, url, *argv, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["--database-url", url, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_staff_add_reads_the_password_from_stdin_and_never_prints_it(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ipt.db'}"
    code, out, _ = run(capsys, monkeypatch, url, "staff", "add", "--email", "Lee@clinic.example",
                       "--role", "admin", stdin="a very long password\n")
    assert code == 0 and "admin account lee@clinic.example created" in out
    code, _, err = run(capsys, monkeypatch, url, "staff", "add", "--email", "kim@clinic.example",
                       "--role", "clinician", stdin="short\n")
    assert code == 2 and "at least 12 characters" in err
    code, out, _ = run(capsys, monkeypatch, url, "--json", "staff", "list")
    rows = json.loads(out)
    assert [r["email"] for r in rows] == ["lee@clinic.example"]
    assert "password" not in out and "argon2" not in out
    with db.unit_of_work(url) as s:
        assert s.scalar(sa.select(Staff.password_hash)).startswith("$argon2id$")
    db.dispose_all()


def test_client_assign_and_remove(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ipt.db'}"
    run(capsys, monkeypatch, url, "staff", "add", "--email", "kim@clinic.example", "--role",
        "clinician", stdin="a very long password\n")
    code, out, _ = run(capsys, monkeypatch, url, "--json", "client", "add", "--name", "Sam")
    pid = json.loads(out)["id"]
    code, out, _ = run(capsys, monkeypatch, url, "--json", "client", "assign", pid, "--staff",
                       "kim@clinic.example")
    assert code == 0 and json.loads(out)["clinicians"] == ["kim@clinic.example"]
    code, out, _ = run(capsys, monkeypatch, url, "--json", "client", "assign", pid, "--staff",
                       "kim@clinic.example", "--remove")
    assert code == 0 and json.loads(out)["clinicians"] == []
    code, _, err = run(capsys, monkeypatch, url, "client", "assign", pid, "--staff", "x@y.z")
    assert code == 2 and "no staff account" in err
    with db.unit_of_work(url) as s:
        actions = list(s.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["add_staff", "assign_client", "unassign_client"]
    db.dispose_all()


def test_staff_totp_turns_on_only_with_a_matching_code(tmp_path, capsys, monkeypatch):
    import pyotp

    url = f"sqlite:///{tmp_path / 'ipt.db'}"
    run(capsys, monkeypatch, url, "staff", "add", "--email", "kim@clinic.example", "--role",
        "clinician", stdin="a very long password\n")
    code, _, err = run(capsys, monkeypatch, url, "staff", "totp", "kim@clinic.example",
                       stdin="000000\n")
    secret = re.search(r"add this key: ([A-Z2-7]+)", err).group(1)
    totp, t = pyotp.TOTP(secret), time.time()
    if "000000" not in {totp.at(t + d) for d in (-30, 0, 30)}:
        assert code == 2 and "does not match" in err

    class Reader(io.StringIO):
        """Answers with the code of the key printed just before."""

        def readline(self, *a):
            key = re.search(r"add this key: ([A-Z2-7]+)", capsys.readouterr().err).group(1)
            return pyotp.TOTP(key).now() + "\n"

    monkeypatch.setattr("sys.stdin", Reader())
    assert main(["--database-url", url, "staff", "totp", "kim@clinic.example"]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, monkeypatch, url, "--json", "staff", "list")
    assert json.loads(out)[0]["second_factor"] is True
    code, out, _ = run(capsys, monkeypatch, url, "--json", "staff", "totp", "kim@clinic.example",
                       "--off")
    assert code == 0 and json.loads(out)["second_factor"] is False
    db.dispose_all()


def test_erasing_from_the_command_line_is_audited_by_id(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ipt.db'}"
    code, out, _ = run(capsys, monkeypatch, url, "--json", "client", "add", "--name", "Sam")
    pid = json.loads(out)["id"]
    code, _, _ = run(capsys, monkeypatch, url, "client", "delete", pid, "--yes")
    assert code == 0
    with db.unit_of_work(url) as s:
        rows = s.execute(sa.select(AuditEntry.staff_email, AuditEntry.action,
                                   AuditEntry.client_public_id)).all()
    assert [tuple(r) for r in rows] == [("ipt-admin", "erase_client", pid)]
    db.dispose_all()
