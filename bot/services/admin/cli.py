"""ipt-admin: the clinic's command line for clients, sessions, homework and safety flags.

usage: ipt-admin [--database-url URL] [--json] COMMAND ...

Examples:
  ipt-admin client add --name "Sam" --tz Europe/Berlin
  ipt-admin appointment add C-7KQ2MX --at "2026-12-01 15:00"
  ipt-admin appointment move 12 --at "2026-12-02 15:00"
  ipt-admin client set C-7KQ2MX --reminders 1440      # or off, default, 1440,60
  ipt-admin client export C-7KQ2MX > sam.json
  ipt-admin staff add --email lee@clinic.example --role admin     # asks for a password
  ipt-admin client assign C-7KQ2MX --staff sam@clinic.example
  ipt-admin db upgrade

Times are shown in the client's time zone and accepted as ISO 8601 or "YYYY-MM-DD HH:MM"
(a time without an offset is taken in the client's time zone). Errors are one line on
stderr: exit 2 for bad input, 1 when something failed (for example the database).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NoReturn

from bot.services.admin.output import UsageError, emit, local, parse_time, table

PROG = "ipt-admin"


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        """Report a usage error in one line."""
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def client_dict(c, for_json: bool) -> dict[str, Any]:
    """A client as output."""
    return {
        "id": c.public_id,
        "name": c.display_name,
        "timezone": c.timezone,
        "status": c.status,
        "agreed_sessions": c.agreed_sessions,
        "reminders": _reminders_label(c),
        "linked_channels": len(c.links),
        "created": local(c.created_at, c.timezone, for_json),
    }


def _reminders_label(c) -> str:
    """The client's reminder setting: "default (1440,60)", "off" or their own minutes."""
    from bot.clinic import reminders

    return reminders.describe_leads(c.reminder_leads, reminders.current_policy())


def reminders_arg(text: str) -> str:
    """Check a --reminders value before anything else is looked up."""
    from bot.clinic import reminders

    try:
        reminders.leads_setting(text)
    except reminders.ReminderError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def appointment_dict(a, c, for_json: bool) -> dict[str, Any]:
    """An appointment as output, in its client's time zone."""
    return {
        "id": a.id,
        "client": c.public_id,
        "name": c.display_name,
        "starts": local(a.starts_at, c.timezone, for_json),
        "minutes": a.duration_minutes,
        "status": a.status,
        # The client said in chat they can't come: the clinic decides (move or cancel).
        "cancel_requested": local(a.cancel_requested_at, c.timezone, for_json),
    }


# --- commands -------------------------------------------------------------------------------


def cmd_db_upgrade(args, s) -> int:
    """Apply the migrations (done before every command anyway)."""
    emit(args, {"status": "up to date"}, "database schema is up to date")
    return 0


def cmd_db_purge(args, s) -> int:
    """Delete the conversations past the retention period (docs/privacy.md)."""
    from bot.clinic import retention

    if args.days is not None and args.days < 1:
        raise UsageError("--days must be at least 1")
    result = retention.purge_in_session(s, days=args.days, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    emit(
        args,
        {**result, "dry_run": args.dry_run},
        f"{verb} {result['conversations']} conversations ({result['events']} events) "
        f"quiet for more than {result['days']} days",
    )
    return 0


def cmd_client_add(args, s) -> int:
    """Create a client and print their first enrolment code."""
    from bot.clinic.store import services

    client, code = services.create_client(s, args.name, args.tz, args.sessions)
    expires = client_expiry(s, client)
    data = {
        **client_dict(client, True),
        "code": code,
        "code_expires": local(expires, client.timezone, True),
    }
    emit(
        args,
        data,
        f"client {client.public_id} ({client.display_name}) created\n"
        f"enrolment code: {code} (valid until {local(expires, client.timezone)}, single use)",
    )
    return 0


def client_expiry(s, client) -> datetime:
    """Expiry of the client's newest code."""
    import sqlalchemy as sa

    from bot.clinic.store.models import EnrolmentCode

    return s.scalar(
        sa.select(EnrolmentCode.expires_at)
        .where(EnrolmentCode.client_id == client.id)
        .order_by(EnrolmentCode.id.desc())
        .limit(1)
    )


def cmd_client_list(args, s) -> int:
    """List clients."""
    from bot.clinic.store import services

    clients = services.list_clients(s)
    emit(
        args,
        [client_dict(c, True) for c in clients],
        table(
            [client_dict(c, False) for c in clients],
            ["id", "name", "timezone", "status", "linked_channels", "created"],
        ),
    )
    return 0


def cmd_client_show(args, s) -> int:
    """Show one client with upcoming appointments and open homework."""
    from bot.clinic.store import services

    c = services.get_client(s, args.client)
    appts = services.list_appointments(s, c)
    hw = services.list_assignments(s, c, open_only=True)
    data = {
        **client_dict(c, True),
        "channels": [
            {"channel": link.channel, "linked": local(link.linked_at, c.timezone, True)}
            for link in c.links
        ],
        "upcoming": [appointment_dict(a, c, True) for a in appts],
        "open_homework": [{"id": h.id, "title": h.title} for h in hw],
    }
    info = client_dict(c, False)
    text = "\n".join(f"{k:16} {'' if v is None else v}" for k, v in info.items())
    text += "\n\nupcoming appointments:\n" + table(
        [appointment_dict(a, c, False) for a in appts],
        ["id", "starts", "minutes", "status", "cancel_requested"],
    )
    text += "\n\nopen homework:\n" + table(
        [{"id": h.id, "title": h.title} for h in hw], ["id", "title"]
    )
    emit(args, data, text)
    return 0


def cmd_client_set(args, s) -> int:
    """Change a client's name, time zone, agreed number of sessions or reminders."""
    from bot.clinic.store import services

    if all(v is None for v in (args.name, args.tz, args.sessions, args.reminders, args.status)):
        raise UsageError("nothing to change: give --name, --tz, --sessions, --reminders or --status")
    c = services.update_client(
        s, services.get_client(s, args.client), args.name, args.tz, args.sessions, args.reminders,
        status=args.status,
    )
    emit(args, client_dict(c, True), f"client {c.public_id} updated")
    return 0


def cmd_client_new_code(args, s) -> int:
    """Issue a new enrolment code (to link another channel, or after expiry)."""
    from bot.clinic.store import services

    c = services.get_client(s, args.client)
    code = services.new_code(s, c)
    expires = client_expiry(s, c)
    emit(
        args,
        {"id": c.public_id, "code": code, "code_expires": local(expires, c.timezone, True)},
        f"enrolment code for {c.public_id}: {code} "
        f"(valid until {local(expires, c.timezone)}, single use)",
    )
    return 0


def cmd_client_export(args, s) -> int:
    """Print everything stored about a client as JSON (always JSON)."""
    from bot.clinic.store import services

    print(
        json.dumps(
            services.export_client(s, services.get_client(s, args.client)),
            indent=2,
            ensure_ascii=False,
            default=str,
        )
    )
    return 0


def cmd_client_delete(args, s) -> int:
    """Erase a client and their conversations, after confirmation."""
    from bot.clinic.store import services

    c = services.get_client(s, args.client)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("refusing to delete without confirmation: add --yes")
        answer = input(
            f"Erase {c.public_id} ({c.display_name}) and all their data, "
            "conversations included? Type the client id to confirm: "
        )
        if answer.strip().upper() != c.public_id:
            print("not deleted", file=sys.stderr)
            return 1
    pid = c.public_id
    removed = services.delete_client(s, c)
    from bot.services.console import accounts  # the audit log keeps the id, never the content

    accounts.audit(s, None, "erase_client", pid, detail=f"erased ({sum(removed.values())} rows)",
                   staff_email="ipt-admin")
    emit(
        args,
        {"id": pid, "deleted": True, "removed": removed},
        f"client {pid} erased ({removed['conversation_events']} conversation events)",
    )
    return 0


def cmd_appointment_add(args, s) -> int:
    """Book a session."""
    from bot.clinic.store import services

    c = services.get_client(s, args.client)
    a = services.book_appointment(s, c, parse_time(args.at, c.timezone), args.minutes)
    emit(
        args,
        appointment_dict(a, c, True),
        f"appointment {a.id} booked for {c.public_id}: {local(a.starts_at, c.timezone)}",
    )
    return 0


def cmd_appointment_list(args, s) -> int:
    """List upcoming (or all) appointments."""
    from bot.clinic.store import services

    client = services.get_client(s, args.client) if args.client else None
    appts = services.list_appointments(s, client, include_past=args.all)
    rows_json = [appointment_dict(a, a.client, True) for a in appts]
    emit(
        args,
        rows_json,
        table(
            [appointment_dict(a, a.client, False) for a in appts],
            ["id", "client", "name", "starts", "minutes", "status", "cancel_requested"],
        ),
    )
    return 0


def cmd_appointment_move(args, s) -> int:
    """Move a session to a new time (its reminders move with it)."""
    from bot.clinic.store import services

    a = services.get_appointment(s, args.appointment)
    a = services.move_appointment(s, a, parse_time(args.at, a.client.timezone))
    emit(
        args,
        appointment_dict(a, a.client, True),
        f"appointment {a.id} moved to {local(a.starts_at, a.client.timezone)}",
    )
    return 0


def cmd_appointment_cancel(args, s) -> int:
    """Cancel an appointment."""
    from bot.clinic.store import services

    a = services.cancel_appointment(s, services.get_appointment(s, args.appointment))
    emit(args, appointment_dict(a, a.client, True), f"appointment {a.id} cancelled")
    return 0


def cmd_homework_assign(args, s) -> int:
    """Assign homework to a client."""
    from bot.clinic.store import services

    c = services.get_client(s, args.client)
    hw = services.assign_homework(s, c, args.title, args.details, args.due)
    emit(
        args,
        {"id": hw.id, "client": c.public_id, "title": hw.title, "due_appointment": args.due},
        f"homework {hw.id} assigned to {c.public_id}",
    )
    return 0


def cmd_homework_list(args, s) -> int:
    """List a client's assignments and log entries."""
    from bot.clinic.store import services

    c = services.get_client(s, args.client)

    def hw_row(h, j: bool) -> dict[str, Any]:
        return {
            "id": h.id,
            "title": h.title,
            "status": h.status,
            "due_appointment": h.due_appointment_id,
            "assigned": local(h.assigned_at, c.timezone, j),
        }

    def entry_row(e, j: bool) -> dict[str, Any]:
        return {
            "id": e.id,
            "assignment": e.assignment_id,
            "when": local(e.created_at, c.timezone, j),
            "what_done": e.what_done,
            "how_it_went": e.how_it_went,
            "feeling": e.feeling,
            "obstacles": e.obstacles,
        }

    hws, entries = services.list_assignments(s, c), services.list_homework_entries(s, c)
    emit(
        args,
        {
            "assignments": [hw_row(h, True) for h in hws],
            "entries": [entry_row(e, True) for e in entries],
        },
        "assignments:\n"
        + table(
            [hw_row(h, False) for h in hws],
            ["id", "title", "status", "due_appointment", "assigned"],
        )
        + "\n\nlog entries:\n"
        + table(
            [entry_row(e, False) for e in entries],
            ["id", "assignment", "when", "what_done", "how_it_went", "feeling", "obstacles"],
        ),
    )
    return 0


def _list_client_rows(
    args, s, listing: Callable, columns: Sequence[str], values: Callable[[Any, Any, bool], tuple]
) -> int:
    """Print what the service function ``listing`` returns (one client's with --client),
    newest first.

    Each row shows its id, client and time, then ``columns`` with ``values(row, client,
    for_json)`` in the same order.
    """
    from bot.clinic.store import services

    one = services.get_client(s, args.client) if args.client else None
    clients = {one.id: one} if one else {c.id: c for c in services.list_clients(s)}
    rows = [(r, clients[r.client_id]) for r in listing(s, one)]

    def shown(r, c, for_json: bool) -> dict[str, Any]:
        return {
            "client": c.public_id,
            "id": r.id,
            "when": local(r.created_at, c.timezone, for_json),
            **dict(zip(columns, values(r, c, for_json), strict=True)),
        }

    emit(
        args,
        [shown(r, c, True) for r, c in rows],
        table([shown(r, c, False) for r, c in rows], ["id", "client", "when", *columns]),
    )
    return 0


def cmd_checkins_list(args, s) -> int:
    """List check-ins, newest first."""
    from bot.clinic.store import services

    return _list_client_rows(
        args,
        s,
        services.list_checkins,
        ["mood", "worked_on_homework", "note"],
        lambda r, c, j: (r.mood, r.worked_on_homework, r.note),
    )


def cmd_flags_list(args, s) -> int:
    """List safety flags, newest first."""
    from bot.clinic.store import services

    return _list_client_rows(
        args,
        s,
        services.list_flags,
        ["category", "reviewed"],
        lambda r, c, j: (r.category, local(r.reviewed_at, c.timezone, j)),
    )


# --- parser and entry point -----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command."""
    common = _Parser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    common.add_argument(
        "--database-url",
        default=argparse.SUPPRESS,
        help="database URL (default: $IPT_DATABASE_URL or sqlite var/ipt.db)",
    )
    parser = _Parser(
        prog=PROG,
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 2)[2],
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    groups = parser.add_subparsers(dest="group", required=True, parser_class=_Parser)

    def sub(group: argparse._SubParsersAction, name: str, func, help_: str) -> _Parser:
        p = group.add_parser(name, help=help_, parents=[common], description=help_)
        p.set_defaults(func=func)
        return p

    g = groups.add_parser("db", help="database schema").add_subparsers(
        dest="cmd", required=True, parser_class=_Parser
    )
    sub(g, "upgrade", cmd_db_upgrade, "apply migrations")
    p = sub(g, "purge", cmd_db_purge,
            "delete conversations past the retention period (unlinked people, closed clients)")
    p.add_argument("--days", type=int,
                   help="retention period in days (default: the clinic's retention_days, 90)")
    p.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    g = groups.add_parser("client", help="clients").add_subparsers(
        dest="cmd", required=True, parser_class=_Parser
    )
    p = sub(g, "add", cmd_client_add, "create a client and an enrolment code")
    p.add_argument("--name", required=True)
    p.add_argument("--tz", default="UTC", help="IANA time zone, e.g. Europe/Berlin")
    p.add_argument("--sessions", type=int, help="agreed number of sessions")
    sub(g, "list", cmd_client_list, "list clients")
    for name, func, help_ in [
        ("show", cmd_client_show, "show a client"),
        ("new-code", cmd_client_new_code, "issue a new enrolment code"),
        ("export", cmd_client_export, "all of a client's data as JSON"),
    ]:
        sub(g, name, func, help_).add_argument("client", help="client id, e.g. C-7KQ2MX")
    p = sub(g, "set", cmd_client_set, "change name, time zone, agreed sessions or reminders")
    p.add_argument("client")
    p.add_argument("--name")
    p.add_argument("--tz")
    p.add_argument("--sessions", type=int)
    p.add_argument(
        "--reminders",
        type=reminders_arg,
        metavar="MINUTES|off|default",
        help="minutes before each session, e.g. 1440,60 or 1440; off; default (the clinic's)",
    )
    p.add_argument("--status", choices=["active", "closed"],
                   help="closed: conversations are purged after the retention period")
    p = sub(g, "delete", cmd_client_delete, "erase a client and their conversations")
    p.add_argument("client")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    from bot.services.console.cli import register as register_console

    register_console(groups, sub, g, _Parser)  # ipt-admin staff ..., client assign

    g = groups.add_parser("appointment", help="sessions").add_subparsers(
        dest="cmd", required=True, parser_class=_Parser
    )
    p = sub(g, "add", cmd_appointment_add, "book a session")
    p.add_argument("client")
    p.add_argument("--at", required=True, help='"2026-12-01 15:00" (client time) or ISO 8601')
    p.add_argument("--minutes", type=int, default=50)
    p = sub(g, "list", cmd_appointment_list, "list upcoming sessions")
    p.add_argument("--client")
    p.add_argument("--all", action="store_true", help="include past sessions")
    p = sub(g, "move", cmd_appointment_move, "move a session to a new time")
    p.add_argument("appointment", type=int)
    p.add_argument("--at", required=True, help='"2026-12-01 15:00" (client time) or ISO 8601')
    p = sub(g, "cancel", cmd_appointment_cancel, "cancel a session")
    p.add_argument("appointment", type=int)

    g = groups.add_parser("homework", help="homework").add_subparsers(
        dest="cmd", required=True, parser_class=_Parser
    )
    p = sub(g, "assign", cmd_homework_assign, "assign homework")
    p.add_argument("client")
    p.add_argument("--title", required=True)
    p.add_argument("--details")
    p.add_argument("--due", type=int, help="appointment id it is due at")
    sub(g, "list", cmd_homework_list, "assignments and log entries").add_argument("client")

    for group, func, help_ in [
        ("checkins", cmd_checkins_list, "check-ins"),
        ("flags", cmd_flags_list, "safety flags"),
    ]:
        g = groups.add_parser(group, help=help_).add_subparsers(
            dest="cmd", required=True, parser_class=_Parser
        )
        sub(g, "list", func, f"list {help_}").add_argument("--client")
    return parser


def _fail(message: str, code: int) -> int:
    """Print one line on stderr and return ``code``."""
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run one command; errors become one line on stderr (2 bad input, 1 failure)."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:
        return _fail(str(e), 2)
    args.json = getattr(args, "json", False)
    url = getattr(args, "database_url", None)
    import sqlalchemy.exc

    from bot.clinic.config import ClinicConfigError
    from bot.clinic.store import db
    from bot.clinic.store.services import StoreError

    try:
        db.ensure_migrated(url)
        with db.unit_of_work(url) as session:
            return args.func(args, session)
    except (UsageError, StoreError) as e:
        return _fail(str(e), 2)
    except ClinicConfigError as e:  # the reminder policy comes from the clinic file
        return _fail(str(e), 1)
    except sqlalchemy.exc.ArgumentError as e:
        return _fail(f"bad database URL: {e}", 2)
    except sqlalchemy.exc.SQLAlchemyError as e:
        detail = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        return _fail(f"database error: {detail}", 1)
    except (KeyboardInterrupt, EOFError):
        return _fail("interrupted", 1)
    except Exception as e:  # noqa: BLE001 - the clinic sees one line, never a traceback
        first = (str(e).strip().splitlines() or [""])[0]
        return _fail(f"unexpected error: {type(e).__name__}: {first}", 1)
    finally:
        db.dispose_all()


if __name__ == "__main__":
    raise SystemExit(main())
