"""Between sessions: the homework log and check-ins that enrolled clients keep in chat.

Two halves, both free of Rasa:
- pure helpers the form validation actions use (text limits, 0-10 ratings, "skip", "is this a
  question about IPT rather than an answer?");
- service functions that take the session of a unit of work (``bot.clinic.store.db.unit_of_work``)
  and the conversation id. The client is always found from the conversation on the server
  side; nothing a user could put in a slot decides whose record is touched.

Saving is idempotent: an entry's ``created_at`` is the time of the message that confirmed it,
so a retried confirmation (the same message sent to the action server twice) finds the entry
it already saved instead of writing a second one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.clinic.store import services
from bot.clinic.store.models import (
    Appointment,
    CheckIn,
    Client,
    HomeworkAssignment,
    HomeworkEntry,
)

# Stricter than the store's limit: a chat message beyond this is refused with a clear message.
MAX_TEXT = 1000
RECENT_ENTRIES = 5
# Crisis intents set by the safety layer (issue 3); a message with one is never saved as data.
CRISIS_INTENTS = frozenset({
    "crisis_suicide", "crisis_self_harm", "crisis_harm_others", "crisis_abuse", "crisis_medical",
})
STOP_INTENTS = frozenset({"stop_form"})
# Intents that are about IPT in general, not the client's own homework, yet start with ask_.
NOT_TOPICS = frozenset({"ask_homework_assigned", "ask_capabilities", "ask_example"})
# Requests answered in the middle of a form however they are worded (data/rules/*.yml): the
# homework list, and the privacy question and erasure request (docs/privacy.md).
REQUESTS_IN_FORMS = frozenset({"ask_homework_assigned", "ask_privacy", "request_data_deletion"})
FREE_ENTRY = "free"
HOMEWORK_SLOTS = ("hw_assignment", "hw_what_done", "hw_how_it_went", "hw_feeling",
                  "hw_obstacles", "hw_confirmed", "hw_correcting_id")
CHECKIN_SLOTS = ("ci_mood", "ci_note", "ci_worked_on_homework")
# The value an optional answer gets when the client skips it (kept apart from real text).
SKIPPED = "skipped"
# Said as "stop" although the NLU files them under deny ("never mind" is a deny example).
STOP_PHRASES = frozenset({
    "stop", "cancel", "never mind", "nevermind", "never mind.", "not now", "forget it",
    "quit", "exit", "abort",
})
_YES = frozenset({"yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "save", "save it",
                  "yes save it", "yes please", "correct", "i did", "a bit", "a little"})
_NO = frozenset({"no", "n", "nope", "nah", "don't save", "dont save", "no thanks", "not yet",
                 "i didn't", "i did not", "no chance"})
_ORDINALS = {"first": 1, "one": 1, "1": 1, "second": 2, "two": 2, "2": 2, "third": 3,
             "three": 3, "3": 3, "fourth": 4, "four": 4, "4": 4, "fifth": 5, "five": 5, "5": 5}
_FREE_WORDS = frozenset({"free", "something else", "other", "another thing", "none of them",
                         "neither", "none", "not listed", "something different"})
# Exact answers (after trimming and lower-casing) that mean "skip this optional question".
_SKIP_WORDS = frozenset({
    "skip", "skip it", "skip this", "skip that", "pass", "no", "nope", "none", "nothing",
    "n/a", "na", "no thanks", "no thank you", "not really", "nah", "-", "/skip",
})
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
}
_NUMBER = re.compile(r"(?<![\w.])(-?\d{1,3})(?![\w.]|\.\d)|\b(" + "|".join(_NUMBER_WORDS) + r")\b",
                     re.IGNORECASE)
_OUT_OF_TEN = re.compile(r"(?:/|\bout of\b|\bof\b)\s*10\b", re.IGNORECASE)
_QUESTION_START = re.compile(
    r"^\s*(what|whats|what's|how|why|when|who|which|where|is|are|can|could|do|does|should|"
    r"would|will|tell me|explain|define)\b",
    re.IGNORECASE,
)


# --- pure helpers for validation --------------------------------------------------------------


def is_crisis(intent: str | None) -> bool:
    """Whether the NLU marked the message as a crisis (never stored as an answer)."""
    return intent in CRISIS_INTENTS


def is_topic_intent(intent: str | None) -> bool:
    """Whether ``intent`` is a question about IPT in general (ask_*)."""
    return bool(intent) and intent.startswith("ask_") and intent not in NOT_TOPICS


def looks_like_question(text: str | None) -> bool:
    """Whether a message reads as a question rather than an account of what happened."""
    text = (text or "").strip()
    return text.endswith("?") or bool(_QUESTION_START.match(text))


def _plain(text: str | None) -> str:
    """Lower-cased, trimmed, without closing punctuation: for comparing short answers."""
    return re.sub(r"\s+", " ", (text or "").strip().lower()).rstrip(".!")


def is_skip(text: str | None) -> bool:
    """Whether an answer to an optional question means "skip it"."""
    return _plain(text) in _SKIP_WORDS or _plain(text) == SKIPPED


def classify_answer(intent: str | None, text: str | None) -> str:
    """What a message inside a form is: "crisis", "stop", "question" or "answer".

    Only an "answer" may be stored. A topic intent on a message that does not read as a
    question ("I told my partner about our argument") is an answer the NLU misread; its own
    button payload ("/ask_initial_phase", tapped under a topic answer given mid-form) is not.
    """
    if is_crisis(intent):
        return "crisis"
    if intent in STOP_INTENTS or _plain(text) in STOP_PHRASES:
        return "stop"
    if intent in REQUESTS_IN_FORMS:
        return "question"
    if is_topic_intent(intent) and (
        looks_like_question(text) or (text or "").strip().startswith(f"/{intent}")
    ):
        return "question"
    return "answer"


def yes_or_no(text: str | None) -> bool | None:
    """True for a plain yes, False for a plain no, None for anything else."""
    plain = _plain(text)
    if plain in _YES:
        return True
    if plain in _NO:
        return False
    return None


def text_problem(text: str | None) -> str | None:
    """Why free text cannot be kept ("empty", "too_long"), or None when it can, as written."""
    if text is None or not text.strip():
        return "empty"
    if len(text) > MAX_TEXT:
        return "too_long"
    return None


def parse_rating(text: str | None) -> int | None:
    """A whole number from 0 to 10 in a message ("7", "about a 6", "3/10", "seven"), else None.

    Ambiguous answers ("6 or 7") give None, so the form asks again instead of guessing.
    """
    text = (text or "").strip()
    without_scale = _OUT_OF_TEN.sub(" ", text)
    found = {
        int(m.group(1)) if m.group(1) else _NUMBER_WORDS[m.group(2).lower()]
        for m in _NUMBER.finditer(without_scale)
    }
    if len(found) != 1:
        return None
    value = found.pop()
    return value if 0 <= value <= 10 else None


def match_assignment(text: str | None, assignments: Sequence[AssignmentView],
                     from_button: bool = False) -> int | str | None:
    """The assignment a choice names, ``FREE_ENTRY``, or None when it names none of these.

    A button carries an id, which must be one of ``assignments`` (the client's own); typed
    text may give a title, a part of it, or a position ("the second one").
    """
    plain = _plain(text)
    if not plain:
        return None
    if plain in _FREE_WORDS:
        return FREE_ENTRY
    if from_button:
        return int(plain) if plain.isdigit() and any(a.id == int(plain) for a in assignments) \
            else None
    titled = [a.id for a in assignments
              if _plain(a.title) == plain or (len(plain) >= 4 and plain in _plain(a.title))]
    if len(titled) == 1:
        return titled[0]
    words = re.findall(r"[a-z0-9]+", plain)
    positions = {_ORDINALS[w] for w in words if w in _ORDINALS}
    if len(positions) == 1 and len(words) <= 4:
        index = positions.pop() - 1
        if 0 <= index < len(assignments):
            return assignments[index].id
    return None


def last_user_timestamp(events: Sequence[dict]) -> float | None:
    """The timestamp of the latest user message in a tracker's events (as rasa-sdk gives them)."""
    return next((e.get("timestamp") for e in reversed(events) if e.get("event") == "user"), None)


def optional(value: object) -> object:
    """None for a skipped or empty optional answer, else the answer itself."""
    return None if value is None or value == "" or value == SKIPPED else value


def message_time(timestamp: float | None) -> datetime:
    """The aware UTC time of a tracker event timestamp (now when there is none)."""
    if timestamp is None:
        return datetime.now(timezone.utc)
    return datetime.fromtimestamp(timestamp, timezone.utc)


# --- views ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentView:
    """An open assignment as the chat shows it."""

    id: int
    title: str
    details: str | None
    due: datetime | None  # start of the session it is due at, in the client's time zone


@dataclass(frozen=True)
class EntryView:
    """A saved homework log entry as the chat shows it."""

    id: int
    assignment_title: str | None
    what_done: str
    how_it_went: str | None
    feeling: int | None
    obstacles: str | None
    created_at: datetime  # in the client's time zone


@dataclass(frozen=True)
class HomeworkDraft:
    """A homework entry the client has confirmed, in their own words."""

    what_done: str
    how_it_went: str | None = None
    feeling: int | None = None
    obstacles: str | None = None
    assignment_id: int | None = None


@dataclass(frozen=True)
class Saved:
    """Outcome of a save: the row's id and whether this call created (or changed) it."""

    id: int
    created: bool


def _local(when: datetime | None, tz: str) -> datetime | None:
    """``when`` in the time zone ``tz`` (UTC if the name is unknown)."""
    if when is None:
        return None
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):  # a bad zone in a record must not break chat
        zone = ZoneInfo("UTC")
    return when.astimezone(zone)


# --- service functions ------------------------------------------------------------------------


def is_linked(session: Session, sender_id: str) -> bool:
    """Whether this conversation is linked to a client."""
    return linked_client(session, sender_id) is not None


def linked_client(session: Session, sender_id: str) -> Client | None:
    """The client linked to this conversation, or None."""
    return services.client_for_sender(session, sender_id)


def _locked_client(session: Session, sender_id: str) -> Client | None:
    """The linked client with its row locked, so concurrent saves for it queue (PostgreSQL)."""
    client = linked_client(session, sender_id)
    if client is None:
        return None
    # SQLite already serialises writers (BEGIN IMMEDIATE); FOR UPDATE does the same on PG.
    return session.scalar(sa.select(Client).where(Client.id == client.id).with_for_update())


def open_assignments(session: Session, sender_id: str) -> list[AssignmentView]:
    """The linked client's open assignments, newest first, with their due session."""
    client = linked_client(session, sender_id)
    if client is None:
        return []
    rows = session.execute(
        sa.select(HomeworkAssignment, Appointment.starts_at)
        .outerjoin(Appointment, HomeworkAssignment.due_appointment_id == Appointment.id)
        .where(HomeworkAssignment.client_id == client.id, HomeworkAssignment.status == "open")
        .order_by(HomeworkAssignment.assigned_at.desc(), HomeworkAssignment.id.desc())
    ).all()
    return [AssignmentView(a.id, a.title, a.details, _local(due, client.timezone))
            for a, due in rows]


def owned_open_assignment(session: Session, sender_id: str, assignment_id: int
                          ) -> AssignmentView | None:
    """The assignment if it is open and belongs to this conversation's client, else None."""
    return next((a for a in open_assignments(session, sender_id) if a.id == assignment_id), None)


def recent_entries(session: Session, sender_id: str, limit: int = RECENT_ENTRIES
                   ) -> list[EntryView] | None:
    """The client's latest log entries, newest first; None when the conversation is unlinked."""
    client = linked_client(session, sender_id)
    if client is None:
        return None
    rows = session.execute(
        sa.select(HomeworkEntry, HomeworkAssignment.title)
        .outerjoin(HomeworkAssignment, HomeworkEntry.assignment_id == HomeworkAssignment.id)
        .where(HomeworkEntry.client_id == client.id)
        .order_by(HomeworkEntry.created_at.desc(), HomeworkEntry.id.desc())
        .limit(limit)
    ).all()
    return [EntryView(e.id, title, e.what_done, e.how_it_went, e.feeling, e.obstacles,
                      _local(e.created_at, client.timezone)) for e, title in rows]


def last_entry(session: Session, sender_id: str) -> EntryView | None:
    """The client's most recent log entry, or None (also when unlinked)."""
    entries = recent_entries(session, sender_id, limit=1)
    return entries[0] if entries else None


def _saved_before(session: Session, model: type[HomeworkEntry | CheckIn], client: Client,
                  sender_id: str, at: datetime) -> Saved | None:
    """The row of ``model`` this conversation already saved at ``at``, if any.

    The conversation and the confirming message's time are the idempotency key: a retried
    save finds its first row here instead of adding a second one.
    """
    existing = session.scalar(
        sa.select(model.id).where(model.client_id == client.id, model.sender_id == sender_id,
                                  model.created_at == at)
    )
    return None if existing is None else Saved(existing, created=False)


def save_homework_entry(session: Session, sender_id: str, draft: HomeworkDraft,
                        confirmed_at: datetime) -> Saved | None:
    """Save a confirmed entry once; None when the conversation is not linked.

    ``confirmed_at`` (the confirming message's time) is the idempotency key together with the
    conversation: a second call with the same pair returns the entry already saved.
    """
    client = _locked_client(session, sender_id)
    if client is None:
        return None
    saved = _saved_before(session, HomeworkEntry, client, sender_id, confirmed_at)
    if saved is not None:
        return saved
    entry = services.log_homework(session, client, draft.what_done, draft.how_it_went,
                                  draft.feeling, draft.obstacles, draft.assignment_id, sender_id)
    entry.created_at = confirmed_at
    entry.updated_at = confirmed_at
    session.flush()
    return Saved(entry.id, created=True)


def correct_entry(session: Session, sender_id: str, entry_id: int, draft: HomeworkDraft,
                  confirmed_at: datetime) -> Saved | None:
    """Replace the words of one of the client's entries; None when unlinked or not theirs.

    Idempotent by nature (the same draft gives the same row); ``created`` says whether the
    row changed.
    """
    client = _locked_client(session, sender_id)
    if client is None:
        return None
    entry = session.get(HomeworkEntry, entry_id)
    if entry is None or entry.client_id != client.id:
        return None
    if draft.assignment_id is not None and owned_open_assignment(
            session, sender_id, draft.assignment_id) is None:
        raise services.NotFound(f"no open assignment {draft.assignment_id} for this client")
    new = {
        "assignment_id": draft.assignment_id,
        "what_done": services.check_text(draft.what_done, "what you did", required=True),
        "how_it_went": services.check_text(draft.how_it_went, "how it went"),
        "feeling": services.check_rating(draft.feeling, "feeling"),
        "obstacles": services.check_text(draft.obstacles, "what got in the way"),
    }
    changed = any(getattr(entry, k) != v for k, v in new.items())
    if changed:
        for key, value in new.items():
            setattr(entry, key, value)
        entry.updated_at = confirmed_at
        session.flush()
    return Saved(entry.id, created=changed)


def save_checkin(session: Session, sender_id: str, mood: int, note: str | None,
                 worked_on_homework: bool | None, answered_at: datetime) -> Saved | None:
    """Save a finished check-in once; None when the conversation is not linked."""
    client = _locked_client(session, sender_id)
    if client is None:
        return None
    saved = _saved_before(session, CheckIn, client, sender_id, answered_at)
    if saved is not None:
        return saved
    checkin = services.record_checkin(session, client, mood, note, worked_on_homework,
                                      sender_id)
    checkin.created_at = answered_at
    session.flush()
    return Saved(checkin.id, created=True)

