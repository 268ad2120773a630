"""The console as a real process on loopback, over a seeded SQLite database."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from bot.clinic.store import db
from bot.clinic.store.models import utcnow
from tests.console import seed
from tests.helpers import free_port, start, stop, wait_http


@dataclass
class Console:
    """``python -m bot.services.console`` and the fictional records it serves."""

    url: str
    database_url: str
    proc: subprocess.Popen
    clients: dict[str, str] = field(default_factory=dict)

    def session(self) -> requests.Session:
        return requests.Session()

    def login(self, email: str, password: str = seed.PASSWORD,
              http: requests.Session | None = None) -> requests.Session:
        """A signed-in requests session (fails the test if the login does not work)."""
        http = http or requests.Session()
        form = http.get(f"{self.url}/login", timeout=10)
        r = http.post(f"{self.url}/login", data={
            "csrf": csrf_of(form.text), "email": email, "password": password, "next": "/clients",
        }, timeout=30)
        assert r.status_code == 200 and r.url.endswith("/clients"), (r.status_code, r.url)
        return http


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def seed_database(url: str, now: datetime) -> dict[str, str]:
    """An admin, two clinicians, and one client each with a history."""
    db.migrate(url)
    with db.unit_of_work(url) as s:
        seed.staff(s, "admin@clinic.example", "admin", now)
        lee = seed.staff(s, "lee@clinic.example", "clinician", now)
        kim = seed.staff(s, "kim@clinic.example", "clinician", now)
        robin = seed.client_with_history(s, now, "Robin Example", 200, lee)
        sasha = seed.client_with_history(s, now, "Sasha Example", 20, kim, seed=3)
        ids = {"robin": robin.public_id, "sasha": sasha.public_id}
    db.dispose_all()
    return ids


def start_console(tmp: Path, env: dict[str, str]) -> Console:
    url = f"sqlite:///{tmp / 'ipt.db'}"
    clients = seed_database(url, utcnow())
    port = free_port()
    proc = start([sys.executable, "-m", "bot.services.console", "--port", str(port)], tmp / "console.log",
                 env={"IPT_DATABASE_URL": url, "IPT_ENV": "test", **env})
    try:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=60, proc=proc)
    except Exception:
        stop(proc)
        raise
    return Console(f"http://127.0.0.1:{port}", url, proc, clients)


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """A console with the default session lengths and a short failed-login delay."""
    c = start_console(tmp_path_factory.mktemp("console"), {"IPT_CONSOLE_FAIL_DELAY": "0.4"})
    yield c
    stop(c.proc)


@pytest.fixture(scope="module")
def short_console(tmp_path_factory):
    """A console whose sessions end after 3 s idle and 6 s in all (the expiry tests)."""
    c = start_console(tmp_path_factory.mktemp("short"), {
        "IPT_CONSOLE_IDLE_MINUTES": "0.05", "IPT_CONSOLE_MAX_HOURS": str(6 / 3600),
        "IPT_CONSOLE_FAIL_DELAY": "0"})
    yield c
    stop(c.proc)


def audit_rows(url: str, action: str | None = None) -> list[tuple]:
    """(staff, action, client, detail) of the audit log, oldest first."""
    import sqlalchemy as sa

    from bot.clinic.store.models import AuditEntry

    with db.unit_of_work(url) as s:
        q = sa.select(AuditEntry.staff_email, AuditEntry.action, AuditEntry.client_public_id,
                      AuditEntry.detail).order_by(AuditEntry.id)
        if action:
            q = q.where(AuditEntry.action == action)
        return [tuple(r) for r in s.execute(q)]


UTC = timezone.utc
DAY = timedelta(days=1)
