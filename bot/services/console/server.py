"""The staff console's web server (aiohttp, Jinja2 templates with autoescape).

usage: python -m bot.services.console [--host 127.0.0.1] [--port 8090]

Its own process and port, loopback unless configured, never under the widget's origin rules.
Every page but the login form needs a console session (cookie: http-only, SameSite=Strict,
Secure on https); every POST needs the session's CSRF token and, when the browser sends an
Origin, our own origin. Client records are read and changed in units of work run off the
event loop, through the same service functions as ``ipt-admin``. See docs/console.md.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hmac
import io
import json
import logging
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
import sqlalchemy as sa
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.clinic.store import db, services
from bot.clinic.store.models import utcnow
from bot.services.console import accounts, views

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COOKIE = "ipt_console"
LOGIN_COOKIE = "ipt_console_login"
PUBLIC = ("/login", "/static/", "/health", "/favicon.ico")
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


@dataclass
class Settings:
    """Where the console listens, its database and its session rules; from the environment."""

    host: str = "127.0.0.1"
    port: int = 8090
    database_url: str | None = None
    limits: accounts.Limits = field(default_factory=accounts.Limits)
    # Seconds a failed login waits before answering, doubled per recent failure, at most 8x.
    fail_delay: float = 1.0
    # Secure cookies: "auto" (when the request came over https), "1" always, "0" never.
    secure_cookie: str = "auto"
    # Behind a reverse proxy on loopback: take the client address from X-Forwarded-For.
    trust_proxy: bool = False
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_env(cls) -> Settings:
        """IPT_CONSOLE_HOST, _PORT, _IDLE_MINUTES, _MAX_HOURS, _FAIL_DELAY, _SECURE_COOKIE,
        _TRUST_PROXY; IPT_DATABASE_URL."""
        env = os.environ.get
        idle = float(env("IPT_CONSOLE_IDLE_MINUTES", "30"))
        absolute = float(env("IPT_CONSOLE_MAX_HOURS", "12"))
        return cls(
            host=env("IPT_CONSOLE_HOST", "127.0.0.1"),
            port=int(env("IPT_CONSOLE_PORT", "8090")),
            database_url=env("IPT_DATABASE_URL") or None,
            limits=accounts.Limits(timedelta(minutes=idle), timedelta(hours=absolute)),
            fail_delay=float(env("IPT_CONSOLE_FAIL_DELAY", "1.0")),
            secure_cookie=env("IPT_CONSOLE_SECURE_COOKIE", "auto"),
            trust_proxy=env("IPT_CONSOLE_TRUST_PROXY", "0") == "1",
        )


SETTINGS = web.AppKey("settings", Settings)
TEMPLATES = web.AppKey("templates", jinja2.Environment)


class Refused(Exception):
    """Answer with a plain error page and this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- helpers --------------------------------------------------------------------------------


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = views.local
    env.filters["lead"] = views.lead
    return env


def render(request: web.Request, template: str, http_status: int = 200, **ctx: Any) -> web.Response:
    """A page from its template, with the signed-in account and CSRF token."""
    html = request.app[TEMPLATES].get_template(template).render(
        staff=request.get("staff"), csrf=request.get("csrf", ""), path=request.path, **ctx)
    return web.Response(text=html, status=http_status, content_type="text/html", charset="utf-8")


def address(request: web.Request) -> str:
    """The client's address (the proxy's view of it when we trust one)."""
    if request.app[SETTINGS].trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:64]
    return (request.remote or "unknown")[:64]


async def run(request: web.Request, fn: Callable, *args: Any) -> Any:
    """``fn(session, *args)`` in one unit of work, off the event loop."""
    url = request.app[SETTINGS].database_url

    def work():
        with db.unit_of_work(url) as s:
            return fn(s, *args)

    return await asyncio.to_thread(work)


def now(request: web.Request) -> datetime:
    return request.app[SETTINGS].clock()


def _secure(request: web.Request) -> bool:
    mode = request.app[SETTINGS].secure_cookie
    if mode in ("0", "1"):
        return mode == "1"
    proto = request.headers.get("X-Forwarded-Proto") if request.app[SETTINGS].trust_proxy else None
    return request.secure or proto == "https"


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
               max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="Strict", secure=_secure(request))


def _same(a: object, b: object) -> bool:
    """Two non-empty tokens that are equal (constant time); a file upload is never a token."""
    return (isinstance(a, str) and isinstance(b, str) and bool(a) and bool(b)
            and hmac.compare_digest(a.encode(), b.encode()))


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


_SAFE_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_.~%?=&+-]*")


def _local_path(target: str | None) -> str:
    """Only our own paths as a redirect target after login (no "//host", no control or
    space characters a browser would strip into one)."""
    if target and _SAFE_PATH.fullmatch(target):
        return target
    return "/clients"


# --- middleware -----------------------------------------------------------------------------


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers; nothing cached; refusals as a page."""
    try:
        response = await handler(request)
    except Refused as e:
        response = render(request, "error.html", http_status=e.status, message=str(e))
    except services.NotFound:
        response = render(request, "error.html", http_status=404,
                          message="There is no such record, or it is not yours to see.")
    if not response.prepared:
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on our own
        # forms, and the origin check above could not tell them from a sandboxed attacker.
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not request.path.startswith("/static/"):
            h.setdefault("Cache-Control", "no-store")
    return response


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A live session for every page but the public ones; CSRF and origin on every POST."""
    if request.method not in ("GET", "HEAD", "POST"):
        raise Refused(405, "Method not allowed.")
    if request.method == "POST":
        origin = request.headers.get("Origin")
        # "null" comes from sandboxed frames and privacy redirects: not our pages.
        if origin is not None and (origin == "null" or urlsplit(origin).netloc != request.host):
            raise Refused(403, "This form came from another site and was refused.")
    if request.path.startswith(PUBLIC):
        return await handler(request)
    settings = request.app[SETTINGS]
    token = request.cookies.get(COOKIE)
    found = await run(request, accounts.session_for, token, settings.limits, now(request))
    if found is None:
        if request.method == "GET":
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}")
        raise Refused(403, "Your session has ended. Sign in again.")
    row, staff = found
    request["staff"], request["csrf"] = staff, row.csrf_token
    if request.method == "POST":
        form = await request.post()
        if not _same(form.get("csrf"), row.csrf_token):
            raise Refused(403, "This form has expired or was not sent by the console. "
                               "Go back, reload the page and try again.")
        request["form"] = form
    return await handler(request)


# --- login ----------------------------------------------------------------------------------


def _login_token(request: web.Request) -> str:
    """The sign-in form's token: the browser's current one if it has one, so a second tab
    (or the favicon request) does not invalidate the form already shown."""
    current = request.cookies.get(LOGIN_COOKIE, "")
    return current if 32 <= len(current) <= 64 and current.isascii() else secrets.token_urlsafe(32)


async def login_form(request: web.Request) -> web.Response:
    token = _login_token(request)
    response = render(request, "login.html", login_csrf=token, error=None,
                      next=_local_path(request.query.get("next")), email="")
    set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
    return response


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    if not _same(form.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
        raise Refused(403, "The sign-in form has expired. Reload the page and try again.")
    settings = request.app[SETTINGS]
    email = str(form.get("email", ""))[:254]
    password = str(form.get("password", ""))[:accounts.MAX_PASSWORD]
    code = str(form.get("code", ""))[:16]
    result = await run(request, accounts.login, email, password, address(request),
                       settings.limits, now(request), code)
    target = _local_path(form.get("next"))
    if result.outcome == "ok":
        response = _see_other(target)
        set_cookie(request, response, COOKIE, result.token,
                   max_age=int(settings.limits.absolute.total_seconds()))
        response.del_cookie(LOGIN_COOKIE, path="/")
        return response
    if result.outcome == "wrong":
        failures = await run(request, accounts.recent_failures, email.strip().lower(),
                             now(request))
        await asyncio.sleep(settings.fail_delay * min(2 ** max(failures - 1, 0), 8))
        message = "The e-mail address, the password or the one-time code is not right."
        status = 401
    else:
        message = ("Too many failed sign-ins for this account or from this address. "
                   "Wait 15 minutes, then try again.")
        status = 429
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", http_status=status, login_csrf=token, error=message,
                      next=target, email=email)
    set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    staff = request["staff"]

    def work(s):
        accounts.logout(s, request.cookies.get(COOKIE))
        accounts.audit(s, staff, "logout", address=address(request), now=now(request))

    await run(request, work)
    response = _see_other("/login")
    response.del_cookie(COOKIE, path="/")
    return response


# --- pages ----------------------------------------------------------------------------------


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/clients")


async def health(request: web.Request) -> web.Response:
    ok = await run(request, lambda s: s.execute(sa.text("SELECT 1")).scalar() == 1)
    return web.json_response({"status": "ok" if ok else "error"}, status=200 if ok else 503)


async def clients(request: web.Request) -> web.Response:
    q = request.query.get("q", "")[:80]
    status = request.query.get("status", "active")
    rows = await run(request, views.client_rows, request["staff"], q, status, now(request))
    return render(request, "clients.html", rows=rows, q=q, status=status, now=now(request),
                  notice=request.query.get("done", ""))


async def client(request: web.Request) -> web.Response:
    staff, pid = request["staff"], request.match_info["pid"]

    def work(s):
        c = accounts.visible_client(s, staff, pid)
        page = views.client_page(s, c, now(request))
        team = [st.email for st in accounts.list_staff(s)
                if st.active and st.role == "clinician"] if staff.role == "admin" else []
        accounts.audit(s, staff, "view_client", c.public_id, address=address(request),
                       now=now(request))
        return request.app[TEMPLATES].get_template("client.html").render(
            staff=staff, csrf=request["csrf"], path=request.path, p=page, c=c, team=team,
            now=now(request), notice=request.query.get("done", ""))

    html = await run(request, work)
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def export_json(request: web.Request) -> web.Response:
    staff, pid = request["staff"], request.match_info["pid"]

    def work(s):
        c = accounts.visible_client(s, staff, pid)
        data = services.export_client(s, c)
        accounts.audit(s, staff, "export_client", c.public_id, detail="json",
                       address=address(request), now=now(request))
        return c.public_id, data

    public_id, data = await run(request, work)
    return web.Response(
        text=json.dumps(data, indent=2, ensure_ascii=False, default=str),
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{public_id}.json"'},
    )


CSV_COLUMNS = ["record", "id", "time_utc", "value", "status", "assignment", "title",
               "what_done", "how_it_went", "obstacles", "note"]


def client_csv(s, c) -> str:
    """The client's between-session records as one CSV table, one row per record."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_COLUMNS)
    w.writeheader()

    def iso(t):
        return t.astimezone(timezone.utc).isoformat() if t else ""

    for ci in reversed(services.list_checkins(s, c)):
        w.writerow({"record": "checkin", "id": ci.id, "time_utc": iso(ci.created_at),
                    "value": ci.mood, "note": ci.note or "",
                    "status": {True: "worked_on_homework", False: "no_homework"}.get(
                        ci.worked_on_homework, "")})
    for a in reversed(services.list_assignments(s, c)):
        w.writerow({"record": "assignment", "id": a.id, "time_utc": iso(a.assigned_at),
                    "status": a.status, "title": a.title, "note": a.details or ""})
    for e in reversed(services.list_homework_entries(s, c)):
        w.writerow({"record": "homework_entry", "id": e.id, "time_utc": iso(e.created_at),
                    "value": "" if e.feeling is None else e.feeling,
                    "assignment": e.assignment_id or "", "what_done": e.what_done,
                    "how_it_went": e.how_it_went or "", "obstacles": e.obstacles or ""})
    for a in services.list_appointments(s, c, include_past=True):
        w.writerow({"record": "session", "id": a.id, "time_utc": iso(a.starts_at),
                    "value": a.duration_minutes, "status": a.status,
                    "note": f"cannot come (asked {iso(a.cancel_requested_at)})"
                    if a.cancel_requested_at else ""})
    for f in reversed(services.list_flags(s, c)):
        w.writerow({"record": "safety_flag", "id": f.id, "time_utc": iso(f.created_at),
                    "title": f.category,
                    "status": f"acknowledged {iso(f.reviewed_at)} by {f.reviewed_by or ''}"
                    if f.reviewed_at else "open"})
    return buf.getvalue()


async def export_csv(request: web.Request) -> web.Response:
    staff, pid = request["staff"], request.match_info["pid"]

    def work(s):
        c = accounts.visible_client(s, staff, pid)
        accounts.audit(s, staff, "export_client", c.public_id, detail="csv",
                       address=address(request), now=now(request))
        return c.public_id, client_csv(s, c)

    public_id, text = await run(request, work)
    return web.Response(text=text, content_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{public_id}.csv"'})


# --- actions (each behind a confirmation page) -----------------------------------------------

ACTIONS: dict[str, str] = {
    "assign_homework": "Assign this homework",
    "book_session": "Book this session",
    "move_session": "Move this session",
    "cancel_session": "Cancel this session",
    "set_reminders": "Change the reminders",
    "set_status": "Change the status",
    "new_code": "Issue a new enrolment code",
    "erase_client": "Erase this client and all their data",
    "assign_clinician": "Assign this clinician",
    "unassign_clinician": "Remove this clinician",
}
# Only administrators erase clients and decide who sees them.
ADMIN_ACTIONS = ("erase_client", "assign_clinician", "unassign_clinician")


def _parse_when(text: str, tz: str) -> datetime:
    from bot.services.admin.output import UsageError, parse_time

    try:
        return parse_time(text, tz)
    except UsageError:
        raise services.InvalidInput("Give the date and time as YYYY-MM-DD HH:MM.") from None


def _do_action(s, staff, c, action: str, form, when_now: datetime) -> tuple[str, str, dict]:
    """Run one action through the CLI's service functions: (audit detail, notice, and what to
    show once on a result page instead of going back to the client, e.g. a new code)."""
    if action == "assign_homework":
        due = form.get("due") or None
        hw = services.assign_homework(s, c, str(form.get("title", "")),
                                      str(form.get("details", "")) or None,
                                      int(due) if due else None)
        return f"assignment {hw.id}", "Homework assigned.", {}
    if action == "book_session":
        minutes = int(form.get("minutes") or 50)
        a = services.book_appointment(s, c, _parse_when(str(form.get("at", "")), c.timezone),
                                      minutes, now=when_now)
        return f"appointment {a.id}", "Session booked.", {}
    if action == "set_reminders":
        choice = str(form.get("reminders", "")).strip()
        services.update_client(s, c, reminder_choice=choice, now=when_now)
        return f"reminders={c.reminder_leads if c.reminder_leads is not None else 'default'}", \
            "Reminders changed.", {}
    if action == "set_status":
        services.update_client(s, c, status=str(form.get("status", "")))
        return f"status={c.status}", "Status changed.", {}
    if action == "new_code":
        code = services.new_code(s, c, when_now)
        return "new code", "", {"code": code,
                                "expires": when_now + services.CODE_VALID_FOR}
    if action in ("assign_clinician", "unassign_clinician"):
        clinician = accounts.get_staff(s, str(form.get("staff", "")))
        if action == "assign_clinician":
            accounts.assign_client(s, c, clinician, when_now)
            return clinician.email, f"Assigned to {clinician.email}.", {}
        accounts.unassign_client(s, c, clinician)
        return clinician.email, f"No longer assigned to {clinician.email}.", {}
    if action == "erase_client":
        if str(form.get("confirm_id", "")).strip().upper() != c.public_id:
            raise services.InvalidInput(f"type the client id {c.public_id} to confirm")
        removed = services.delete_client(s, c)
        return f"erased ({sum(removed.values())} rows)", "", {"erased": True}
    appt = services.get_appointment(s, int(form.get("appointment") or 0))
    if appt.client_id != c.id:
        raise services.NotFound("no such session for this client")
    if action == "move_session":
        services.move_appointment(s, appt, _parse_when(str(form.get("at", "")), c.timezone),
                                  now=when_now)
        return f"appointment {appt.id}", "Session moved.", {}
    if action == "cancel_session":
        services.cancel_appointment(s, appt)
        return f"appointment {appt.id}", "Session cancelled.", {}
    raise Refused(404, "Unknown action.")


async def action(request: web.Request) -> web.StreamResponse:
    staff, pid, name = request["staff"], request.match_info["pid"], request.match_info["action"]
    if name not in ACTIONS:
        raise Refused(404, "Unknown action.")
    if name in ADMIN_ACTIONS and staff.role != "admin":
        raise Refused(403, "Only administrators can do this.")
    form = request["form"]
    confirmed = form.get("confirm") == "yes"
    when_now = now(request)

    def work(s):
        c = accounts.visible_client(s, staff, pid)
        public_id, display_name, tz = c.public_id, c.display_name, c.timezone
        if not confirmed:
            return public_id, display_name, tz, None, None, {}
        try:
            with s.begin_nested():
                detail, notice, shown = _do_action(s, staff, c, name, form, when_now)
        except (services.StoreError, ValueError) as e:
            return public_id, display_name, tz, None, str(e), {}
        accounts.audit(s, staff, name, public_id, detail=detail, address=address(request),
                       now=when_now)
        return public_id, display_name, tz, notice, None, shown

    public_id, display_name, tz, notice, error, shown = await run(request, work)
    if shown.get("erased"):
        raise web.HTTPSeeOther(f"/clients?done={quote(f'{public_id} erased.')}")
    if shown:
        return render(request, "shown_once.html", public_id=public_id, name=display_name,
                      code=shown["code"], expires=views.local(shown["expires"], tz))
    if notice:
        raise web.HTTPSeeOther(f"/clients/{public_id}?done={quote(notice)}")
    fields = {k: str(v) for k, v in form.items() if k not in ("csrf", "confirm")}
    return render(request, "confirm.html", http_status=400 if error else 200, action=name,
                  label=ACTIONS[name], fields=fields, public_id=public_id, name=display_name,
                  error=error)


async def enrol(request: web.Request) -> web.StreamResponse:
    """A new client and their first enrolment code, shown once; a clinician's own client."""
    staff, form = request["staff"], request["form"]
    fields = {k: str(v) for k, v in form.items() if k not in ("csrf", "confirm")}
    if form.get("confirm") != "yes":
        return render(request, "confirm_enrol.html", fields=fields, error=None)
    when_now = now(request)

    def work(s):
        sessions = str(form.get("sessions", "")).strip()
        try:
            with s.begin_nested():
                c, code = services.create_client(
                    s, str(form.get("name", "")), str(form.get("tz", "")).strip() or "UTC",
                    int(sessions) if sessions else None, now=when_now)
                if staff.role != "admin":
                    accounts.assign_client(s, c, staff, when_now)
        except (services.InvalidInput, ValueError) as e:
            return None, str(e)
        accounts.audit(s, staff, "enrol_client", c.public_id, address=address(request),
                       now=when_now)
        return (c.public_id, c.display_name, code, views.local(
            when_now + services.CODE_VALID_FOR, c.timezone)), None

    done, error = await run(request, work)
    if error:
        return render(request, "confirm_enrol.html", http_status=400, fields=fields, error=error)
    public_id, name, code, expires = done
    return render(request, "shown_once.html", public_id=public_id, name=name, code=code,
                  expires=expires, new=True)


async def acknowledge(request: web.Request) -> web.StreamResponse:
    staff, pid = request["staff"], request.match_info["pid"]
    flag_id = int(request.match_info["flag"])

    def work(s):
        c = accounts.visible_client(s, staff, pid)
        accounts.acknowledge_flag(s, c, flag_id, staff, now(request))
        accounts.audit(s, staff, "ack_flag", c.public_id, detail=f"flag {flag_id}",
                       address=address(request), now=now(request))
        return c.public_id

    public_id = await run(request, work)
    raise web.HTTPSeeOther(f"/clients/{public_id}?done={quote('Safety flag acknowledged.')}#flags")


# --- administration -------------------------------------------------------------------------


def _admin(request: web.Request) -> None:
    if request["staff"].role != "admin":
        raise Refused(403, "Only administrators can open this page.")


async def audit_page(request: web.Request) -> web.StreamResponse:
    _admin(request)
    client_id = request.query.get("client", "").strip().upper()[:16]
    fmt = request.query.get("format", "")
    staff = request["staff"]

    def work(s):
        rows = accounts.audit_entries(s, limit=5000 if fmt == "csv" else 300,
                                      client_public_id=client_id or None)
        accounts.audit(s, staff, "view_audit", client_id or None,
                       detail="csv" if fmt == "csv" else None, address=address(request),
                       now=now(request))
        return rows

    rows = await run(request, work)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["at_utc", "staff", "action", "client", "detail", "address"])
        for r in rows:
            w.writerow([r.at.astimezone(timezone.utc).isoformat(), r.staff_email or "", r.action,
                        r.client_public_id or "", r.detail or "", r.address or ""])
        return web.Response(text=buf.getvalue(), content_type="text/csv",
                            headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
    return render(request, "audit.html", rows=rows, client=client_id)


async def staff_page(request: web.Request) -> web.StreamResponse:
    _admin(request)
    rows = await run(request, accounts.list_staff)
    return render(request, "staff.html", rows=rows, error=None, notice=request.query.get("done", ""))


async def staff_add(request: web.Request) -> web.StreamResponse:
    _admin(request)
    form, staff = request["form"], request["staff"]

    def work(s):
        try:
            with s.begin_nested():
                new = accounts.add_staff(s, str(form.get("email", "")), str(form.get("role", "")),
                                         str(form.get("password", "")), now(request))
        except services.InvalidInput as e:
            return None, str(e), accounts.list_staff(s)
        accounts.audit(s, staff, "add_staff", detail=f"{new.email} role={new.role}",
                       address=address(request), now=now(request))
        return new.email, None, []

    email, error, rows = await run(request, work)
    if error:
        return render(request, "staff.html", http_status=400, rows=rows, error=error, notice="")
    raise web.HTTPSeeOther(f"/admin/staff?done={quote('Account created for ' + email)}")


async def staff_active(request: web.Request) -> web.StreamResponse:
    _admin(request)
    admin, form = request["staff"], request["form"]
    email, active = str(form.get("email", "")), form.get("active") == "yes"
    if email.strip().lower() == admin.email:
        raise Refused(400, "You cannot disable your own account.")

    def work(s):
        st = accounts.set_active(s, accounts.get_staff(s, email), active)
        accounts.audit(s, admin, "enable_staff" if active else "disable_staff", detail=st.email,
                       address=address(request), now=now(request))
        return st.email

    done = await run(request, work)
    verb = "enabled" if active else "disabled (their sessions ended)"
    raise web.HTTPSeeOther(f"/admin/staff?done={quote(f'{done} {verb}.')}")


# --- app ------------------------------------------------------------------------------------


def create_app(settings: Settings | None = None) -> web.Application:
    """The console application (no listening)."""
    settings = settings or Settings.from_env()
    app = web.Application(middlewares=[headers, guard], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[TEMPLATES] = _env()
    r = app.router
    r.add_get("/", home)
    r.add_get("/health", health)
    r.add_get("/favicon.ico", lambda request: web.Response(status=204))
    r.add_get("/login", login_form)
    r.add_post("/login", login_submit)
    r.add_post("/logout", logout)
    r.add_get("/clients", clients)
    r.add_get("/clients/{pid}", client)
    r.add_get("/clients/{pid}/export.json", export_json)
    r.add_get("/clients/{pid}/export.csv", export_csv)
    r.add_post("/clients/new", enrol)
    r.add_post("/clients/{pid}/flags/{flag:\\d+}/acknowledge", acknowledge)
    r.add_post("/clients/{pid}/do/{action}", action)
    r.add_get("/admin/audit", audit_page)
    r.add_get("/admin/staff", staff_page)
    r.add_post("/admin/staff", staff_add)
    r.add_post("/admin/staff/active", staff_active)
    r.add_static("/static/", HERE / "static", append_version=False)
    return app


def main(argv: list[str] | None = None) -> int:
    """Migrate the database, then serve the console."""
    parser = argparse.ArgumentParser(prog="python -m bot.services.console", description=__doc__.splitlines()[0])
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("IPT_LOG_LEVEL", "WARNING"))
    settings = Settings.from_env()
    settings.host = args.host or settings.host
    settings.port = args.port or settings.port
    db.ensure_migrated(settings.database_url)
    print(f"staff console on http://{settings.host}:{settings.port}/", flush=True)
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None,
                access_log=None)
    return 0
