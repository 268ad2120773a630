"""ipt-admin staff ... and client assign."""

from __future__ import annotations

import io
import json

import sqlalchemy as sa

from bot.admin.cli import main
from bot.store import db
from bot.store.models import AuditEntry, Staff


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
