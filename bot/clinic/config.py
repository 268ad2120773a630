"""The clinic's configuration: crisis lines, reminders, contact; load, validate, summarise.

usage: python -m bot.clinic.config check [FILE]

Without FILE, checks the file named by IPT_CLINIC_FILE, or the embedded default
(bot/clinic/clinic_default.yml, which works anywhere: the local emergency number, with the common
ones named, and international directories of helplines).
A broken file fails with a message naming the file and the field, so `make run` stops at
start rather than in the middle of someone's crisis. A file without crisis lines is accepted
with a warning: people then get only the emergency number.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

DEFAULT_FILE = Path(__file__).with_name("clinic_default.yml")
ENV_VAR = "IPT_CLINIC_FILE"
# Said when a clinic names no emergency number. The numbers in brackets are the general
# emergency numbers of those places (112 works across the EU and in most of Europe, and on
# most mobile phones elsewhere too); a clinic that knows its country sets emergency_number.
LOCAL_EMERGENCY = ("your local emergency number (112 in most of Europe, 911 in the US and "
                   "Canada, 999 in the UK, 000 in Australia)")

# Digits, spaces, hyphens, dots, brackets and a leading plus: what phone numbers look like.
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{0,30}$")
_WEB = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
_TOP_FIELDS = {
    "name", "country", "emergency_number", "crisis_lines", "on_call_telegram_chat_id",
    "young_people_resources", "reminders", "retention_days", "privacy_url", "contact",
}
_REMINDER_FIELDS = {"lead_minutes", "quiet_hours"}
_CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
# A week: a longer lead would be a reminder of a session nobody has booked yet.
MAX_LEAD_MINUTES = 7 * 24 * 60
DEFAULT_RETENTION_DAYS = 90
_LINE_FIELDS = {"name", "phone", "text", "web"}
_CONTACT_FIELDS = {"phone", "email", "web", "hours"}
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
# The hours are shown as the clinic writes them, inside a reply kept to about 80 words.
MAX_HOURS_CHARS = 60


class ClinicConfigError(ValueError):
    """The clinic file is missing, unreadable or has a field that is wrong."""


@dataclass(frozen=True)
class CrisisLine:
    """One line people can contact: a name and at least one of phone, text, web."""

    name: str
    phone: str | None = None
    text: str | None = None
    web: str | None = None

    def as_line(self) -> str:
        """One line of text listing how to reach it (data only, no sentences)."""
        parts = [p for p in (self.phone, self.text, self.web) if p]
        return f"{self.name}: " + ", ".join(parts)


@dataclass(frozen=True)
class ContactDetails:
    """How people reach the clinic's own team about booking, costs, referrals and the like."""

    phone: str | None = None
    email: str | None = None
    web: str | None = None
    hours: str | None = None

    def lines(self) -> str:
        """One detail per line, as the clinic wrote it (data only, no sentences)."""
        return "\n".join(f"- {p}" for p in (self.phone, self.email, self.web, self.hours) if p)


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders go out: minutes before a session, and hours never to send in.

    Quiet hours are in the client's own time zone and may wrap midnight (21:00 to 08:00);
    a reminder that would fall in them is sent just before they begin instead.
    """

    lead_minutes: tuple[int, ...] = (1440, 60)
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(8, 0)


@dataclass(frozen=True)
class ClinicConfig:
    """A validated clinic configuration."""

    name: str
    country: str
    emergency_number: str | None = None
    crisis_lines: tuple[CrisisLine, ...] = ()
    on_call_telegram_chat_id: str | None = None
    young_people_resources: tuple[CrisisLine, ...] = ()
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    # Conversations of unlinked users and closed clients are purged after this many days.
    retention_days: int = DEFAULT_RETENTION_DAYS
    # The full privacy notice; None = our web server's /privacy page.
    privacy_url: str | None = None
    # The team that answers booking, costs, insurance and referrals; None = not configured.
    contact: ContactDetails | None = None
    source: str = field(default="", compare=False)

    @property
    def emergency(self) -> str:
        """The number to call in immediate danger, or "your local emergency number"."""
        return self.emergency_number or LOCAL_EMERGENCY

    def lines_text(self) -> str:
        """The crisis lines, one per line; empty when the clinic lists none."""
        return "\n".join(f"- {line.as_line()}" for line in self.crisis_lines)

    def young_people_text(self) -> str:
        """The lines for people under 18, one per line; empty when none are listed."""
        return "\n".join(f"- {line.as_line()}" for line in self.young_people_resources)


def _fail(source: str, where: str, problem: str) -> ClinicConfigError:
    return ClinicConfigError(f"clinic file {source}: field '{where}' {problem}")


def _optional_str(raw: dict[str, Any], key: str, where: str, source: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _fail(source, where, f"must be text, got {type(value).__name__}")
    value = str(value).strip()
    if not value:
        raise _fail(source, where, "must not be empty (use null to leave it out)")
    return value


def _lines(raw: Any, where: str, source: str) -> tuple[CrisisLine, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _fail(source, where, "must be a list of lines")
    lines = []
    for i, item in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise _fail(source, here, "must be a mapping with name and phone/text/web")
        unknown = sorted(set(item) - _LINE_FIELDS)
        if unknown:
            raise _fail(source, f"{here}.{unknown[0]}", "is not a known field "
                        f"(known: {', '.join(sorted(_LINE_FIELDS))})")
        name = _optional_str(item, "name", f"{here}.name", source)
        if not name:
            raise _fail(source, f"{here}.name", "is required")
        phone = _optional_str(item, "phone", f"{here}.phone", source)
        if phone and not _PHONE.match(phone):
            raise _fail(source, f"{here}.phone", f"is not a phone number: {phone!r}")
        text = _optional_str(item, "text", f"{here}.text", source)
        web = _optional_str(item, "web", f"{here}.web", source)
        if web and not _WEB.match(web):
            raise _fail(source, f"{here}.web", f"must be an http(s) address: {web!r}")
        if not (phone or text or web):
            raise _fail(source, here, "needs at least one of phone, text, web")
        lines.append(CrisisLine(name, phone, text, web))
    return tuple(lines)


def _only_known(raw: dict, known: frozenset[str] | set[str], where: str, source: str) -> None:
    """Refuse the first field of ``raw`` (a section of the file) that is not in ``known``."""
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(source, f"{where}.{unknown[0]}", "is not a known field "
                    f"(known: {', '.join(sorted(known))})")


def _contact(raw: Any, source: str) -> ContactDetails | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fail(source, "contact", "must be a mapping with phone, email, web and/or hours")
    _only_known(raw, _CONTACT_FIELDS, "contact", source)
    phone = _optional_str(raw, "phone", "contact.phone", source)
    if phone and not _PHONE.match(phone):
        raise _fail(source, "contact.phone", f"is not a phone number: {phone!r}")
    email = _optional_str(raw, "email", "contact.email", source)
    if email and not _EMAIL.match(email):
        raise _fail(source, "contact.email", f"is not an email address: {email!r}")
    web = _optional_str(raw, "web", "contact.web", source)
    if web and not _WEB.match(web):
        raise _fail(source, "contact.web", f"must be an http(s) address: {web!r}")
    hours = _optional_str(raw, "hours", "contact.hours", source)
    if hours and (len(hours) > MAX_HOURS_CHARS or "\n" in hours):
        raise _fail(source, "contact.hours", f"must be one line of at most {MAX_HOURS_CHARS} "
                    f"characters, e.g. \"Monday to Friday, 9am to 5pm\": {hours!r}")
    if not (phone or email or web):
        raise _fail(source, "contact", "needs at least one of phone, email, web "
                    "(or leave contact out)")
    return ContactDetails(phone, email, web, hours)


def parse_leads(raw: Any, where: str = "reminders.lead_minutes", source: str = "<memory>"
                ) -> tuple[int, ...]:
    """Lead times in minutes, longest first, without repeats (a list or "1440,60")."""
    if isinstance(raw, str):
        raw = [p for p in raw.replace(" ", "").split(",") if p]
    if not isinstance(raw, (list, tuple)):
        raise _fail(source, where, "must be a list of minutes, e.g. [1440, 60]")
    leads = set()
    for value in raw:
        try:
            minutes = int(value)
        except (TypeError, ValueError):
            raise _fail(source, where, f"has {value!r}, not a whole number of minutes") from None
        if isinstance(value, bool) or not 1 <= minutes <= MAX_LEAD_MINUTES:
            raise _fail(source, where, f"has {value!r}: use 1 to {MAX_LEAD_MINUTES} minutes")
        leads.add(minutes)
    return tuple(sorted(leads, reverse=True))


def _clock(raw: Any, where: str, source: str) -> time:
    text = str(raw).strip() if isinstance(raw, (str, int)) else ""
    match = _CLOCK.match(text)
    if not match:
        raise _fail(source, where, f"must be a time like \"21:00\", got {raw!r}")
    return time(int(match.group(1)), int(match.group(2)))


def _reminders(raw: Any, source: str) -> ReminderPolicy:
    if raw is None:
        return ReminderPolicy()
    if not isinstance(raw, dict):
        raise _fail(source, "reminders", "must be a mapping with lead_minutes and quiet_hours")
    _only_known(raw, _REMINDER_FIELDS, "reminders", source)
    default = ReminderPolicy()
    leads = default.lead_minutes
    if "lead_minutes" in raw:
        leads = parse_leads(raw["lead_minutes"], "reminders.lead_minutes", source)
    start, end = default.quiet_start, default.quiet_end
    if "quiet_hours" in raw:
        quiet = raw["quiet_hours"]
        if quiet is None:
            start = end = None
        elif not isinstance(quiet, dict) or set(quiet) != {"start", "end"}:
            raise _fail(source, "reminders.quiet_hours",
                        'must be null or {start: "21:00", end: "08:00"}')
        else:
            start = _clock(quiet["start"], "reminders.quiet_hours.start", source)
            end = _clock(quiet["end"], "reminders.quiet_hours.end", source)
            if start == end:
                raise _fail(source, "reminders.quiet_hours", "start and end must differ")
    return ReminderPolicy(leads, start, end)


def parse(raw: Any, source: str = "<memory>") -> ClinicConfig:
    """Validate the mapping read from a clinic file and return the configuration."""
    if not isinstance(raw, dict):
        raise ClinicConfigError(f"clinic file {source}: must be a YAML mapping of fields")
    unknown = sorted(set(raw) - _TOP_FIELDS)
    if unknown:
        raise _fail(source, unknown[0], f"is not a known field (known: {', '.join(sorted(_TOP_FIELDS))})")
    name = _optional_str(raw, "name", "name", source)
    if not name:
        raise _fail(source, "name", "is required")
    country = _optional_str(raw, "country", "country", source)
    if not country:
        raise _fail(source, "country", "is required")
    emergency = _optional_str(raw, "emergency_number", "emergency_number", source)
    if emergency and not _PHONE.match(emergency):
        raise _fail(source, "emergency_number", f"is not a phone number: {emergency!r}")
    chat_id = _optional_str(raw, "on_call_telegram_chat_id", "on_call_telegram_chat_id", source)
    if chat_id and not re.fullmatch(r"-?[0-9]+|@[A-Za-z0-9_]{5,}", chat_id):
        raise _fail(source, "on_call_telegram_chat_id",
                    f"must be a numeric chat id or @channelname: {chat_id!r}")
    retention = raw.get("retention_days", DEFAULT_RETENTION_DAYS)
    if retention is None:
        retention = DEFAULT_RETENTION_DAYS
    if isinstance(retention, bool) or not isinstance(retention, int) or not 1 <= retention <= 3650:
        raise _fail(source, "retention_days", f"must be a whole number of days from 1 to 3650: {retention!r}")
    privacy_url = _optional_str(raw, "privacy_url", "privacy_url", source)
    if privacy_url and not _WEB.match(privacy_url):
        raise _fail(source, "privacy_url", f"must be an http(s) address: {privacy_url!r}")
    return ClinicConfig(
        name=name,
        country=country,
        emergency_number=emergency,
        crisis_lines=_lines(raw.get("crisis_lines"), "crisis_lines", source),
        on_call_telegram_chat_id=chat_id,
        young_people_resources=_lines(
            raw.get("young_people_resources"), "young_people_resources", source
        ),
        reminders=_reminders(raw.get("reminders"), source),
        retention_days=retention,
        privacy_url=privacy_url,
        contact=_contact(raw.get("contact"), source),
        source=source,
    )


# The last configuration read from each file, with the file's size and modification time:
# actions read the configuration on every call (the privacy notice twice per conversation),
# and parsing the YAML each time was most of the action server's work. An edited file is
# read again on the next call, as before.
_LOADED: dict[str, tuple[tuple[int, int], ClinicConfig]] = {}


def load(path: str | os.PathLike[str] | None = None) -> ClinicConfig:
    """Load ``path``, else IPT_CLINIC_FILE, else the embedded default; raise if broken."""
    import yaml

    chosen = path or os.environ.get(ENV_VAR) or DEFAULT_FILE
    file = Path(chosen)
    try:
        stat = file.stat()
        known = _LOADED.get(str(file))
        if known and known[0] == (stat.st_mtime_ns, stat.st_size):
            return known[1]
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ClinicConfigError(f"clinic file {file}: cannot be read ({exc.strerror})") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ClinicConfigError(f"clinic file {file}: is not valid YAML ({exc})") from exc
    config = parse(raw, str(file))
    _LOADED[str(file)] = ((stat.st_mtime_ns, stat.st_size), config)
    return config


def summary(config: ClinicConfig) -> str:
    """A short human-readable summary for `make run` and the admin."""
    out = [
        f"clinic: {config.name} ({config.country}) from {config.source}",
        f"emergency number: {config.emergency}",
        f"crisis lines: {len(config.crisis_lines)}",
    ]
    out += [f"  {line.as_line()}" for line in config.crisis_lines]
    out.append(f"young people's lines: {len(config.young_people_resources)}")
    out.append(f"conversations kept for: {config.retention_days} days")
    out.append("on-call Telegram chat: " + ("set" if config.on_call_telegram_chat_id else "not set"))
    contact = config.contact
    out.append("clinic contact: " + (", ".join(
        k for k in ("phone", "email", "web", "hours") if getattr(contact, k)) if contact
        else "not set (people are pointed to the clinic's website or appointment letter)"))
    policy = config.reminders
    quiet = (f"{policy.quiet_start:%H:%M}-{policy.quiet_end:%H:%M} client time"
             if policy.quiet_start else "none")
    leads = ", ".join(f"{m} min" for m in policy.lead_minutes) or "none"
    out.append(f"reminders: {leads} before; quiet hours {quiet}")
    return "\n".join(out)


def warnings(config: ClinicConfig) -> list[str]:
    """What is allowed but leaves people with less help than they should have."""
    out = []
    if not config.crisis_lines:
        out.append(f"clinic file {config.source} lists no crisis lines: in a crisis people get "
                   "only the emergency number and a pointer to https://findahelpline.com. "
                   "Add your country's crisis lines (crisis_lines, see clinic.example.yml).")
    if not config.emergency_number and config.country.lower() not in ("any", ""):
        out.append(f"clinic file {config.source} names no emergency_number for "
                   f"{config.country}: people are told \"{LOCAL_EMERGENCY}\".")
    return out


def main(argv: list[str] | None = None) -> int:
    """`check [FILE]`: validate and print a summary; exit 1 on a broken file."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "check" or len(args) > 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        config = load(args[1] if len(args) == 2 else None)
    except ClinicConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary(config))
    for warning in warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
