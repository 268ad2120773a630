"""Between-sessions services and helpers against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot.clinic import between_sessions as bs
from bot.clinic.store import db, services
from bot.clinic.store.models import CheckIn, Client, HomeworkEntry

NOW = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=timezone.utc)
pytestmark = pytest.mark.clock


def _linked(url, sender="tg-1", name="Sam", tz="Europe/Berlin") -> int:
    """A client linked to ``sender``; returns the client's row id."""
    with db.unit_of_work(url) as s:
        client, _ = services.create_client(s, name, tz)
        services.link_channel(s, client, "telegram", sender)
        return client.id


def _assign(url, client_id: int, title: str, due: datetime | None = None) -> int:
    with db.unit_of_work(url) as s:
        client = s.get(Client, client_id)
        appt = services.book_appointment(s, client, due) if due else None
        return services.assign_homework(s, client, title, None, appt.id if appt else None).id


# --- pure helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("7", 7), ("0", 0), ("10", 10), ("about a 6", 6), ("3/10", 3), ("8 out of 10", 8),
    ("seven", 7), ("Ten!", 10), ("11", None), ("6 or 7", None), ("", None), ("-1", None), ("6-7", None),
    ("fine", None), ("7.5", None), ("100", None),
])
def test_a_rating_is_read_only_when_it_is_one_whole_number_from_0_to_10(text, value):
    assert bs.parse_rating(text) == value


def test_free_text_is_refused_when_too_long_and_never_cut():
    assert bs.text_problem("x" * bs.MAX_TEXT) is None
    assert bs.text_problem("x" * (bs.MAX_TEXT + 1)) == "too_long"
    assert bs.text_problem("   ") == "empty"


@pytest.mark.parametrize(("text", "skip"), [
    ("skip", True), ("No.", True), ("nothing", True), ("/skip", True),
    ("nothing got in the way until Tuesday", False), ("no time on Friday", False),
])
def test_only_a_plain_skip_answer_skips_an_optional_question(text, skip):
    assert bs.is_skip(text) is skip


@pytest.mark.parametrize(("text", "question"), [
    ("what is a role dispute?", True), ("how long does ipt last", True),
    ("I talked to my sister about our argument", False), ("it went ok", False),
])
def test_a_question_is_told_apart_from_an_answer(text, question):
    assert bs.looks_like_question(text) is question


def test_a_topic_button_tapped_mid_form_is_a_question_not_an_answer():
    # The topic answers carry buttons ("/ask_initial_phase"); a tap must not become a note.
    assert bs.classify_answer("ask_initial_phase", "/ask_initial_phase") == "question"
    assert bs.classify_answer("ask_role_disputes", "I told my partner about it") == "answer"
    assert bs.classify_answer("skip", "/skip") == "answer"


def test_topic_and_crisis_intents_are_recognised():
    assert bs.is_topic_intent("ask_phases")
    assert not bs.is_topic_intent("ask_homework_assigned")
    assert not bs.is_topic_intent("log_homework")
    assert bs.is_crisis("crisis_suicide") and not bs.is_crisis("deny")


@pytest.mark.parametrize("intent", ["ask_homework_assigned", "ask_privacy",
                                    "request_data_deletion"])
def test_requests_inside_a_form_are_never_taken_as_its_answer(intent):
    # however they are worded: a statement-like "delete my data" must not become a note
    assert bs.classify_answer(intent, "delete my data") == "question"
    assert bs.classify_answer("deny", "it went ok") == "answer"


# --- services on a real database --------------------------------------------------------------


def test_an_unlinked_conversation_saves_nothing(url):
    with db.unit_of_work(url) as s:
        assert bs.save_homework_entry(s, "nobody", bs.HomeworkDraft("x"), NOW) is None
        assert bs.save_checkin(s, "nobody", 5, None, None, NOW) is None
        assert bs.recent_entries(s, "nobody") is None
        assert bs.open_assignments(s, "nobody") == []
    with db.unit_of_work(url) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(HomeworkEntry)) == 0


def test_a_confirmed_entry_is_saved_once_even_when_the_confirmation_is_retried(url):
    cid = _linked(url)
    draft = bs.HomeworkDraft("Called my sister  😊", "Awkward at first,\nthen good", 6, None)
    with db.unit_of_work(url) as s:
        first = bs.save_homework_entry(s, "tg-1", draft, NOW)
    with db.unit_of_work(url) as s:
        again = bs.save_homework_entry(s, "tg-1", draft, NOW)
    assert first.created and not again.created and first.id == again.id
    with db.unit_of_work(url) as s:
        rows = s.scalars(sa.select(HomeworkEntry)).all()
        assert len(rows) == 1
        assert rows[0].client_id == cid
        assert rows[0].what_done == "Called my sister  😊"  # kept exactly as written
        assert rows[0].how_it_went == "Awkward at first,\nthen good"
        assert rows[0].created_at == NOW


def test_concurrent_retries_of_one_confirmation_save_one_entry(url):
    _linked(url)
    draft = bs.HomeworkDraft("Practised saying no")

    def save(_):
        with db.unit_of_work(url) as s:
            return bs.save_homework_entry(s, "tg-1", draft, NOW).id

    with ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(save, range(8)))
    assert len(ids) == 1
    with db.unit_of_work(url) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(HomeworkEntry)) == 1


def test_a_later_confirmation_is_a_new_entry(url):
    _linked(url)
    with db.unit_of_work(url) as s:
        bs.save_homework_entry(s, "tg-1", bs.HomeworkDraft("a"), NOW)
        bs.save_homework_entry(s, "tg-1", bs.HomeworkDraft("b"), NOW + timedelta(seconds=1))
    with db.unit_of_work(url) as s:
        entries = bs.recent_entries(s, "tg-1")
    assert [e.what_done for e in entries] == ["b", "a"]
    assert entries[0].created_at.tzinfo is not None
    assert entries[0].created_at.utcoffset() == timedelta(hours=1)  # Berlin in November


def test_an_assignment_of_another_client_cannot_be_logged_against(url):
    _linked(url, "tg-1")
    other = _linked(url, "tg-2", name="Alex")
    theirs = _assign(url, other, "Call Jo")
    with db.unit_of_work(url) as s:
        assert bs.owned_open_assignment(s, "tg-1", theirs) is None
        assert bs.owned_open_assignment(s, "tg-2", theirs).title == "Call Jo"
    with pytest.raises(services.NotFound), db.unit_of_work(url) as s:
        bs.save_homework_entry(s, "tg-1", bs.HomeworkDraft("x", assignment_id=theirs), NOW)


def test_open_assignments_show_their_due_session_in_local_time(url):
    cid = _linked(url)
    due = datetime(datetime.now(timezone.utc).year + 3, 1, 7, 14, 0, tzinfo=timezone.utc)
    _assign(url, cid, "Talk to my sister", due)
    with db.unit_of_work(url) as s:
        [view] = bs.open_assignments(s, "tg-1")
    assert view.title == "Talk to my sister"
    assert view.due.hour == 15 and view.due == due


def test_correcting_changes_only_the_clients_own_entry(url):
    _linked(url, "tg-1")
    _linked(url, "tg-2", name="Alex")
    with db.unit_of_work(url) as s:
        mine = bs.save_homework_entry(s, "tg-1", bs.HomeworkDraft("old words"), NOW).id
    new = bs.HomeworkDraft("new words", "fine", 4, "tired")
    with db.unit_of_work(url) as s:
        assert bs.correct_entry(s, "tg-2", mine, new, NOW) is None
    with db.unit_of_work(url) as s:
        result = bs.correct_entry(s, "tg-1", mine, new, NOW + timedelta(minutes=1))
        again = bs.correct_entry(s, "tg-1", mine, new, NOW + timedelta(minutes=1))
    assert result.created and not again.created
    with db.unit_of_work(url) as s:
        [row] = s.scalars(sa.select(HomeworkEntry)).all()
        assert (row.what_done, row.how_it_went, row.feeling, row.obstacles) == (
            "new words", "fine", 4, "tired")


def test_a_checkin_is_saved_once_and_listed_for_the_clinic(url):
    _linked(url, "tg-1", name="Sam")
    _linked(url, "tg-2", name="Alex", tz="UTC")
    with db.unit_of_work(url) as s:
        first = bs.save_checkin(s, "tg-1", 0, "rough week", True, NOW)
        again = bs.save_checkin(s, "tg-1", 0, "rough week", True, NOW)
        bs.save_checkin(s, "tg-2", 7, None, None, NOW + timedelta(hours=1))
    assert first.created and not again.created
    with db.unit_of_work(url) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 2
        names = {c.id: c.display_name for c in services.list_clients(s)}
        rows = [(names[r.client_id], r.mood, r.note, r.worked_on_homework)
                for r in services.list_checkins(s)]
        sam = services.client_for_sender(s, "tg-1")
        only_sam = [names[r.client_id] for r in services.list_checkins(s, sam)]
        recent = [names[r.client_id]
                  for r in services.list_checkins(s, since=NOW + timedelta(minutes=30))]
    assert rows == [("Alex", 7, None, None), ("Sam", 0, "rough week", True)]
    assert only_sam == ["Sam"]
    assert recent == ["Alex"]
