"""Service functions against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot.clinic.store import db, services
from bot.clinic.store.models import ChannelLink, Client, EnrolmentCode, HomeworkEntry
from bot.clinic.store.services import InvalidInput, NotFound, Redeem
from tests import store_api as api

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
# The clock stands at NOW for every function a test reaches (api.* reads it itself).
pytestmark = [pytest.mark.clock, pytest.mark.usefixtures("frozen_clock")]


def _client(url, name="Sam", tz="Europe/Berlin"):
    with db.unit_of_work(url) as s:
        client, code = services.create_client(s, name, tz, now=NOW)
        return client.public_id, code


def test_a_client_gets_a_code_that_is_stored_only_hashed(url):
    pid, code = _client(url)
    with db.unit_of_work(url) as s:
        row = s.scalar(sa.select(EnrolmentCode))
        assert row.code_hash != code and code not in row.code_hash
        assert row.expires_at == NOW + timedelta(days=7)
        assert s.scalar(sa.select(Client.timezone)) == "Europe/Berlin"
    assert pid.startswith("C-")


def test_a_code_links_the_conversation_once(url):
    _, code = _client(url)
    with db.unit_of_work(url) as s:
        r = services.redeem_code(s, "tg-1", "telegram", code.lower().replace("-", " "), NOW)
        assert r.outcome is Redeem.LINKED and r.client.display_name == "Sam"
    with db.unit_of_work(url) as s:
        assert services.redeem_code(s, "web-1", "socketio", code, NOW).outcome is Redeem.USED
        assert (
            services.redeem_code(s, "tg-1", "telegram", code, NOW).outcome is Redeem.ALREADY_LINKED
        )
    assert api.client_for_sender("tg-1", url=url).display_name == "Sam"
    assert api.client_for_sender("web-1", url=url) is None


def test_one_client_links_several_channels_with_new_codes(url):
    pid, code = _client(url)
    with db.unit_of_work(url) as s:
        services.redeem_code(s, "tg-2", "telegram", code, NOW)
        second = services.new_code(s, services.get_client(s, pid), NOW)
    with db.unit_of_work(url) as s:
        assert services.redeem_code(s, "web-2", "socketio", second, NOW).outcome is Redeem.LINKED
        assert s.scalar(sa.select(sa.func.count()).select_from(ChannelLink)) == 2


def test_an_expired_code_is_refused(url):
    _, code = _client(url)
    with db.unit_of_work(url) as s:
        later = NOW + timedelta(days=7, seconds=1)
        assert services.redeem_code(s, "tg-3", "telegram", code, later).outcome is Redeem.EXPIRED


def test_a_code_typed_in_chat_works_until_the_second_it_expires(url, frozen_clock):
    _, code = _client(url)
    _, late_code = _client(url, "Alex")
    expiry = NOW + services.CODE_VALID_FOR
    frozen_clock.move_to(expiry - timedelta(seconds=1))
    linked = api.link_account("tg-12", "telegram", code, url=url, consent=True)
    assert linked.outcome is Redeem.LINKED and linked.display_name == "Sam"
    frozen_clock.move_to(expiry)
    assert api.link_account("tg-13", "telegram", late_code, url=url).outcome is Redeem.EXPIRED
    frozen_clock.move_to(expiry + timedelta(seconds=1))
    assert api.link_account("tg-13", "telegram", late_code, url=url).outcome is Redeem.EXPIRED
    assert api.client_for_sender("tg-13", url=url) is None


def test_five_wrong_codes_lock_the_conversation_for_an_hour(url):
    _, code = _client(url)
    for i in range(5):
        with db.unit_of_work(url) as s:
            r = services.redeem_code(
                s, "tg-4", "telegram", "AAAA-222" + "ABCDE"[i], NOW + timedelta(minutes=i)
            )
            assert r.outcome is Redeem.WRONG
    last_failure = NOW + timedelta(minutes=4)
    with db.unit_of_work(url) as s:
        # Even the right code is refused while locked: guessing gains nothing.
        r = services.redeem_code(s, "tg-4", "telegram", code, last_failure + timedelta(minutes=59))
        assert r.outcome is Redeem.LOCKED and r.locked_until == last_failure + timedelta(hours=1)
        # Other conversations are not affected.
        assert services.redeem_code(s, "tg-5", "telegram", "AAAA-2222", NOW).outcome is Redeem.WRONG
    with db.unit_of_work(url) as s:
        r = services.redeem_code(s, "tg-4", "telegram", code, last_failure + timedelta(hours=1))
        assert r.outcome is Redeem.LINKED


def test_four_wrong_codes_do_not_lock(url):
    _, code = _client(url)
    for i in range(4):
        with db.unit_of_work(url) as s:
            services.redeem_code(s, "tg-6", "telegram", "AAAA-222" + "ABCD"[i], NOW)
    with db.unit_of_work(url) as s:
        assert services.redeem_code(s, "tg-6", "telegram", code, NOW).outcome is Redeem.LINKED


def test_bad_input_is_refused_with_a_clear_message(url):
    with db.unit_of_work(url) as s:
        with pytest.raises(InvalidInput, match="time zone"):
            services.create_client(s, "Sam", "Mars/Olympus")
        with pytest.raises(InvalidInput, match="display name"):
            services.create_client(s, "   ", "UTC")
        with pytest.raises(NotFound):
            services.get_client(s, "C-NOPE22")
    pid, _ = _client(url)
    with db.unit_of_work(url) as s:
        client = services.get_client(s, pid.lower())
        with pytest.raises(InvalidInput, match="past"):
            services.book_appointment(s, client, NOW - timedelta(hours=1), now=NOW)


def test_appointments_book_list_and_cancel(url):
    pid, _ = _client(url)
    with db.unit_of_work(url) as s:
        client = services.get_client(s, pid)
        a = services.book_appointment(s, client, NOW + timedelta(days=2), now=NOW)
        services.book_appointment(s, client, NOW + timedelta(days=1), now=NOW)
        appt_id = a.id
    with db.unit_of_work(url) as s:
        client = services.get_client(s, pid)
        listed = services.list_appointments(s, client, now=NOW)
        assert [x.starts_at for x in listed] == [NOW + timedelta(days=1), NOW + timedelta(days=2)]
        services.cancel_appointment(s, services.get_appointment(s, appt_id))
    with db.unit_of_work(url) as s:
        assert services.get_appointment(s, appt_id).status == "cancelled"
        with pytest.raises(InvalidInput):
            services.cancel_appointment(s, services.get_appointment(s, appt_id))


def test_homework_and_checkins_through_the_api(url):
    pid, code = _client(url)
    api.link_account("tg-7", "telegram", code, url=url, consent=True)
    with db.unit_of_work(url) as s:
        hw = services.assign_homework(s, services.get_client(s, pid), "Talk to my sister")
        hw_id = hw.id
    assert api.open_assignments("tg-7", url=url)[0]["title"] == "Talk to my sister"
    entry = api.log_homework("tg-7", "I called her", "It went OK", 6, None, hw_id, url=url)
    assert entry is not None
    assert api.record_checkin("tg-7", 5, "tired", True, url=url) is not None
    assert api.log_homework("stranger", "x", url=url) is None
    with pytest.raises(InvalidInput, match="longer than"):
        api.log_homework("tg-7", "x" * 2001, url=url)
    with pytest.raises(InvalidInput):
        api.record_checkin("tg-7", 11, url=url)
    with db.unit_of_work(url) as s:
        assert s.scalar(sa.select(HomeworkEntry.how_it_went)) == "It went OK"


def test_crisis_flags_are_stored_only_for_linked_conversations(url):
    _, code = _client(url)
    api.link_account("tg-8", "telegram", code, url=url, consent=True)
    assert api.record_crisis_flag("tg-8", "self_harm", url=url) is True
    assert api.record_crisis_flag("unlinked", "self_harm", url=url) is False
    with db.unit_of_work(url) as s:
        flags = services.list_flags(s)
        assert [(f.category, f.sender_id) for f in flags] == [("self_harm", "tg-8")]


def test_crisis_flag_never_raises_when_the_database_is_down():
    assert (
        api.record_crisis_flag("x", "self_harm", url="postgresql://postgres@127.0.0.1:1/none")
        is False
    )


def _add_events(url, sender, n):
    """Rasa's events table with ``n`` rows for ``sender`` (as the tracker store writes them)."""
    from rasa.core.tracker_store import SQLTrackerStore

    engine = db.get_engine(url)
    SQLTrackerStore.Base.metadata.create_all(engine)
    events = SQLTrackerStore.SQLEvent.__table__
    with engine.begin() as conn:
        for i in range(n):
            conn.execute(
                events.insert().values(
                    sender_id=sender,
                    type_name="user",
                    timestamp=float(i),
                    data=json.dumps({"event": "user", "text": f"msg {i}"}),
                )
            )


def test_export_has_everything_and_delete_erases_it(url):
    pid, code = _client(url)
    other_pid, other_code = _client(url, "Alex", "UTC")
    api.link_account("tg-9", "telegram", code, url=url, consent=True)
    api.link_account("tg-10", "telegram", other_code, url=url, consent=True)
    api.record_checkin("tg-9", 4, "note", url=url)
    api.record_crisis_flag("tg-9", "self_harm", url=url)
    _add_events(url, "tg-9", 3)
    _add_events(url, "tg-10", 2)
    with db.unit_of_work(url) as s:
        client = services.get_client(s, pid)
        services.book_appointment(s, client, NOW + timedelta(days=400), now=NOW)
        data = services.export_client(s, client)
    assert data["client"]["display_name"] == "Sam"
    assert [e["text"] for e in data["conversations"]["tg-9"]] == ["msg 0", "msg 1", "msg 2"]
    assert "tg-10" not in data["conversations"]
    assert len(data["checkins"]) == 1 and len(data["safety_flags"]) == 1
    assert all("code_hash" not in c for c in data["enrolment_codes"])
    json.dumps(data)
    with db.unit_of_work(url) as s:
        removed = services.delete_client(s, services.get_client(s, pid))
    assert removed["conversation_events"] == 3
    with db.unit_of_work(url) as s:
        with pytest.raises(NotFound):
            services.get_client(s, pid)
        assert services.get_client(s, other_pid).display_name == "Alex"
        left = s.execute(sa.text("SELECT sender_id FROM events")).scalars().all()
        assert left == ["tg-10", "tg-10"]
        for table in (
            "channel_links",
            "checkins",
            "safety_flags",
            "appointments",
            "enrolment_codes",
        ):
            count = s.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
            assert count == (1 if table in ("channel_links", "enrolment_codes") else 0), table


def test_consent_and_erasure_from_the_conversation(url):
    pid, code = _client(url)
    assert api.record_consent("tg-11", url=url) is False
    api.link_account("tg-11", "telegram", code, url=url, consent=True)
    assert api.record_consent("tg-11", url=url) is True
    with db.unit_of_work(url) as s:
        first = services.get_client(s, pid).consent_at
        assert first is not None
    api.record_consent("tg-11", url=url)
    with db.unit_of_work(url) as s:
        assert services.get_client(s, pid).consent_at == first
    _add_events(url, "tg-11", 2)
    assert api.erase_client_of("tg-11", url=url) is True
    assert api.client_for_sender("tg-11", url=url) is None
    assert api.erase_client_of("tg-11", url=url) is False
    with db.unit_of_work(url) as s:
        assert s.execute(sa.text("SELECT count(*) FROM events")).scalar() == 0
        assert s.execute(sa.text("SELECT count(*) FROM clients")).scalar() == 0


def test_code_attempts_have_a_global_cap_across_conversations(url, monkeypatch):
    # many conversations (one POST each on the web) guessing codes: a cap over all of them
    monkeypatch.setattr(services, "MAX_CODE_ATTEMPTS_PER_HOUR", 8)
    with db.unit_of_work(url) as s:
        _, code = services.create_client(s, "Capped", "UTC", now=NOW)
    for i in range(8):
        with db.unit_of_work(url) as s:
            guess = services.redeem_code(s, f"guess-{i}", "socketio", "AAAA-2222",
                                         NOW + timedelta(seconds=i))
            assert guess.outcome is Redeem.WRONG
    with db.unit_of_work(url) as s:
        refused = services.redeem_code(s, "someone-else", "socketio", code,
                                       NOW + timedelta(minutes=1))
        assert refused.outcome is Redeem.LOCKED
        assert services.client_for_sender(s, "someone-else") is None
    with db.unit_of_work(url) as s:  # an hour later the cap has room again
        later = services.redeem_code(s, "someone-else", "socketio", code,
                                     NOW + timedelta(hours=1, minutes=1))
        assert later.outcome is Redeem.LINKED


def test_code_attempts_are_limited_per_client_address_across_conversations(url, monkeypatch):
    """One address guessing from many conversations (one POST each on the web) is stopped
    at the per-address cap, below the per-conversation and global limits; another address
    is not, and the store keeps only the address's keyed tag (issue 19)."""
    from bot.clinic.store import codes
    from bot.clinic.store.models import CodeAttempt

    monkeypatch.setenv("IPT_MAX_CODE_ATTEMPTS_PER_ADDRESS", "6")
    attacker, neighbour = codes.address_tag("203.0.113.7"), codes.address_tag("198.51.100.9")
    assert attacker != neighbour and "203.0.113.7" not in attacker
    _, victim_code = _client(url, "Victim")
    _, own_code = _client(url, "Neighbour")
    for i in range(6):  # one wrong guess per conversation: no conversation is near its limit
        with db.unit_of_work(url) as s:
            guess = services.redeem_code(s, f"web-guess{i}", "socketio", "AAAA-2222",
                                         NOW + timedelta(seconds=i), address=attacker)
            assert guess.outcome is Redeem.WRONG
    with db.unit_of_work(url) as s:  # the right code, from a fresh conversation: refused
        refused = services.redeem_code(s, "web-fresh", "socketio", victim_code,
                                       NOW + timedelta(minutes=1), address=attacker)
        assert refused.outcome is Redeem.LOCKED
        assert refused.locked_until == NOW + timedelta(hours=1)
        assert services.client_for_sender(s, "web-fresh") is None
        stored = set(s.scalars(sa.select(CodeAttempt.address)))
        assert stored == {attacker}
    with db.unit_of_work(url) as s:  # someone else, elsewhere: unaffected
        other = services.redeem_code(s, "web-neighbour", "socketio", own_code,
                                     NOW + timedelta(minutes=1), address=neighbour)
        assert other.outcome is Redeem.LINKED
    with db.unit_of_work(url) as s:  # an hour after the first guess the address may try again
        later = services.redeem_code(s, "web-fresh", "socketio", victim_code,
                                     NOW + timedelta(hours=1, seconds=1), address=attacker)
        assert later.outcome is Redeem.LINKED


def test_a_consent_step_attempt_counts_toward_the_address_limit(url, monkeypatch):
    """Trying valid codes at the consent question costs the address an attempt too."""
    from bot.clinic.store import codes

    monkeypatch.setenv("IPT_MAX_CODE_ATTEMPTS_PER_ADDRESS", "2")
    tag = codes.address_tag("203.0.113.8")
    _, code = _client(url, "NoConsentYet")
    for i in range(2):
        with db.unit_of_work(url) as s:
            asked = services.redeem_code(s, f"web-c{i}", "socketio", code, NOW,
                                         require_consent=True, address=tag)
            assert asked.outcome is Redeem.NEEDS_CONSENT
    with db.unit_of_work(url) as s:
        assert services.redeem_code(s, "web-c9", "socketio", code, NOW, require_consent=True,
                                    address=tag).outcome is Redeem.LOCKED
