"""Shortcuts for tests: one short unit of work per call, by conversation id.

The bot reaches the database one way (``bot.clinic.store.db.call`` with a service function);
these wrap the same service functions for tests that set up or check records in one line.
Results are plain values, never ORM objects, so nothing leaks out of the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.clinic import enrolment, safety
from bot.clinic.enrolment import LinkResult
from bot.clinic.store import db, services
from bot.clinic.store.models import Client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientView:
    """What the conversation needs to know about a linked client."""

    public_id: str
    display_name: str
    timezone: str
    agreed_sessions: int | None


def _view(client) -> ClientView:
    """A frozen view of a client row."""
    return ClientView(
        client.public_id, client.display_name, client.timezone, client.agreed_sessions
    )


def _uow(url: str | None):
    """A unit of work on a migrated database."""
    db.ensure_migrated(url)
    return db.unit_of_work(url)


@contextmanager
def _linked(sender_id: str, url: str | None) -> Iterator[tuple[Session, Client | None]]:
    """A unit of work and the client this conversation is linked to (None when unlinked)."""
    with _uow(url) as s:
        yield s, services.client_for_sender(s, sender_id)


def client_for_sender(sender_id: str, url: str | None = None) -> ClientView | None:
    """The client this conversation is linked to, or None."""
    with _linked(sender_id, url) as (_, client):
        return _view(client) if client else None


def link_account(
    sender_id: str,
    channel: str | None,
    code: str | None,
    url: str | None = None,
    consent: bool = False,
    address: str | None = None,
) -> LinkResult:
    """``enrolment.link`` in its own unit of work."""
    return db.run(enrolment.link, sender_id, channel, code, consent, address, url=url)


def record_crisis_flag(sender_id: str, category: str, url: str | None = None) -> bool:
    """``safety.record_flag`` on the database at ``url`` (never raises)."""
    return safety.record_flag(sender_id, category, safety.default_recorder(url))


def open_assignments(sender_id: str, url: str | None = None) -> list[dict]:
    """The linked client's open homework assignments (id, title, details), newest first."""
    with _linked(sender_id, url) as (s, client):
        if client is None:
            return []
        return [
            {"id": a.id, "title": a.title, "details": a.details}
            for a in services.list_assignments(s, client, open_only=True)
        ]


def log_homework(
    sender_id: str,
    what_done: str,
    how_it_went: str | None = None,
    feeling: int | None = None,
    obstacles: str | None = None,
    assignment_id: int | None = None,
    url: str | None = None,
) -> int | None:
    """Save a confirmed homework entry for the linked client; its id, or None if unlinked."""
    with _linked(sender_id, url) as (s, client):
        if client is None:
            return None
        return services.log_homework(
            s, client, what_done, how_it_went, feeling, obstacles, assignment_id, sender_id
        ).id


def record_checkin(
    sender_id: str,
    mood: int,
    note: str | None = None,
    worked_on_homework: bool | None = None,
    url: str | None = None,
) -> int | None:
    """Save a check-in for the linked client; its id, or None if unlinked."""
    with _linked(sender_id, url) as (s, client):
        if client is None:
            return None
        return services.record_checkin(s, client, mood, note, worked_on_homework, sender_id).id


def record_consent(sender_id: str, url: str | None = None) -> bool:
    """Record the linked client's consent; False when the conversation is not linked."""
    with _linked(sender_id, url) as (s, client):
        if client is None:
            return False
        services.record_consent(s, client)
        return True


def erase_client_of(sender_id: str, url: str | None = None) -> bool:
    """Erase the client linked to this conversation and all their conversations.

    The caller must have asked for and received the client's confirmation first.
    False when the conversation is not linked (nothing to erase in the records).
    """
    with _linked(sender_id, url) as (s, client):
        if client is None:
            return False
        services.delete_client(s, client)
        return True
