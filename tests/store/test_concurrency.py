"""Fifty conversations enrolling and writing at once lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from bot.clinic.store import db, services
from bot.clinic.store.services import Redeem
from tests import store_api as api

N = 50


def test_fifty_conversations_enrol_and_write_at_once(url):
    with db.unit_of_work(url) as s:
        issued = []
        for i in range(N):
            client, code = services.create_client(s, f"Client {i}", "UTC")
            services.assign_homework(s, client, f"Task {i}")
            issued.append(code)

    def conversation(i: int) -> tuple[str, int | None, int | None]:
        sender = f"conv-{i}"
        # A wrong guess first, then the right code, then one homework entry and a check-in.
        api.link_account(sender, "telegram", "ZZZZ-2222", url=url, consent=True)
        linked = api.link_account(sender, "telegram", issued[i], url=url, consent=True)
        assignment = api.open_assignments(sender, url=url)[0]["id"]
        entry = api.log_homework(sender, f"did task {i}", assignment_id=assignment, url=url)
        checkin = api.record_checkin(sender, i % 11, url=url)
        return linked.outcome, entry, checkin

    with ThreadPoolExecutor(max_workers=N) as pool:
        results = list(pool.map(conversation, range(N)))

    assert all(outcome is Redeem.LINKED for outcome, _, _ in results)
    assert all(entry and checkin for _, entry, checkin in results)
    with db.unit_of_work(url) as s:
        rows = s.execute(
            sa.text(
                "SELECT c.display_name, l.sender_id, e.what_done FROM clients c "
                "JOIN channel_links l ON l.client_id = c.id "
                "JOIN homework_entries e ON e.client_id = c.id ORDER BY c.id"
            )
        ).all()
        assert len(rows) == N
        # Every entry went to the client whose code that conversation typed.
        for name, sender, what in rows:
            i = name.split()[-1]
            assert sender == f"conv-{i}" and what == f"did task {i}"
        assert s.execute(sa.text("SELECT count(*) FROM checkins")).scalar() == N
        assert s.execute(sa.text("SELECT count(*) FROM code_attempts")).scalar() == 0


def test_one_code_typed_in_two_conversations_at_once_links_only_one(url):
    with db.unit_of_work(url) as s:
        _, code = services.create_client(s, "Sam", "UTC")
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(
            pool.map(
                lambda i: api.link_account(f"race-{i}", "telegram", code, url=url, consent=True).outcome,
                range(10),
            )
        )
    assert outcomes.count(Redeem.LINKED) == 1
    assert outcomes.count(Redeem.USED) == 9
