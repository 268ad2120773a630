"""``ipt-admin staff ...`` and ``ipt-admin client assign``: console accounts from the command line.

Registered by bot/services/admin/cli.py; the same unit of work and error handling as every command.
A password is asked twice on a terminal, or read as one line from stdin (for scripts):
never from the command line, where it would land in the shell history and process list.
"""

from __future__ import annotations

import getpass
import sys


def read_password(prompt: str = "Password: ") -> str:
    """A new password from the terminal (typed twice) or the first line of stdin."""
    from bot.clinic.store.services import InvalidInput
    from bot.services.admin.output import UsageError
    from bot.services.console import accounts

    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise UsageError("the two passwords differ")
    else:
        first = sys.stdin.readline().rstrip("\r\n")
    try:
        return accounts.check_password(first)
    except InvalidInput as e:
        raise UsageError(str(e)) from None


def staff_dict(st) -> dict:
    """An account as output (never its hash)."""
    return {"email": st.email, "role": st.role, "active": st.active,
            "second_factor": bool(st.totp_secret),
            "created": st.created_at.isoformat(),
            "last_login": st.last_login_at.isoformat() if st.last_login_at else None}


def cmd_staff_add(args, s) -> int:
    """Create a console account."""
    from bot.services.admin.output import emit
    from bot.services.console import accounts

    password = read_password()
    st = accounts.add_staff(s, args.email, args.role, password)
    accounts.audit(s, None, "add_staff", detail=f"{st.email} role={st.role}", staff_email="ipt-admin")
    emit(args, staff_dict(st), f"{st.role} account {st.email} created")
    return 0


def cmd_staff_list(args, s) -> int:
    """List console accounts."""
    from bot.services.admin.output import emit, table
    from bot.services.console import accounts

    rows = [staff_dict(st) for st in accounts.list_staff(s)]
    emit(args, rows, table(rows, ["email", "role", "active", "second_factor", "last_login"]))
    return 0


def cmd_staff_password(args, s) -> int:
    """Set a new password (ends the account's sessions)."""
    from bot.services.admin.output import emit
    from bot.services.console import accounts

    st = accounts.get_staff(s, args.email)
    accounts.set_password(s, st, read_password("New password: "))
    accounts.audit(s, None, "set_password", detail=st.email, staff_email="ipt-admin")
    emit(args, staff_dict(st), f"password of {st.email} changed; their sessions ended")
    return 0


def cmd_staff_active(args, s) -> int:
    """Disable or enable an account."""
    from bot.services.admin.output import emit
    from bot.services.console import accounts

    st = accounts.get_staff(s, args.email)
    accounts.set_active(s, st, args.cmd == "enable")
    accounts.audit(s, None, f"{args.cmd}_staff", detail=st.email, staff_email="ipt-admin")
    emit(args, staff_dict(st), f"{st.email} {args.cmd}d")
    return 0


def cmd_staff_totp(args, s) -> int:
    """Set up (or with --off remove) an authenticator app as a second factor."""
    from bot.clinic.store.services import InvalidInput
    from bot.services.admin.output import UsageError, emit
    from bot.services.console import accounts

    st = accounts.get_staff(s, args.email)
    if args.off:
        accounts.disable_totp(s, st)
        accounts.audit(s, None, "totp_off", detail=st.email, staff_email="ipt-admin")
        emit(args, staff_dict(st), f"{st.email} signs in with the password only")
        return 0
    secret = accounts.new_totp_secret()
    print(f"In the authenticator app, add this key: {secret}\n"
          f"(or open: {accounts.totp_uri(st.email, secret)})", file=sys.stderr)
    if sys.stdin.isatty():
        code = input("Then type the 6-digit code it shows: ")
    else:
        code = sys.stdin.readline()
    try:
        accounts.enable_totp(s, st, secret, code.strip())
    except InvalidInput as e:
        raise UsageError(str(e)) from None
    accounts.audit(s, None, "totp_on", detail=st.email, staff_email="ipt-admin")
    emit(args, staff_dict(st), f"{st.email} now needs a one-time code to sign in")
    return 0


def cmd_client_assign(args, s) -> int:
    """Assign a client to a clinician (or remove the assignment with --remove)."""
    from bot.clinic.store import services
    from bot.services.admin.output import emit
    from bot.services.console import accounts

    c = services.get_client(s, args.client)
    st = accounts.get_staff(s, args.staff)
    if args.remove:
        accounts.unassign_client(s, c, st)
        verb = "unassign_client"
        text = f"{c.public_id} is no longer assigned to {st.email}"
    else:
        accounts.assign_client(s, c, st)
        verb = "assign_client"
        text = f"{c.public_id} assigned to {st.email}"
    accounts.audit(s, None, verb, c.public_id, detail=st.email, staff_email="ipt-admin")
    emit(args, {"client": c.public_id, "staff": st.email, "assigned": not args.remove,
                "clinicians": accounts.clinicians_of(s, c)}, text)
    return 0


def register(groups, sub, client_group, parser_class) -> None:
    """Add the ``staff`` group and ``client assign`` to ipt-admin's parser."""
    g = groups.add_parser("staff", help="staff console accounts").add_subparsers(
        dest="cmd", required=True, parser_class=parser_class)
    p = sub(g, "add", cmd_staff_add,
            "create a console account (password asked, or read from stdin)")
    p.add_argument("--email", required=True)
    p.add_argument("--role", required=True, choices=["clinician", "admin"])
    sub(g, "list", cmd_staff_list, "list console accounts")
    sub(g, "password", cmd_staff_password, "set a new password").add_argument("email")
    sub(g, "disable", cmd_staff_active, "disable an account").add_argument("email")
    p = sub(g, "totp", cmd_staff_totp, "set up an authenticator app (one-time codes)")
    p.add_argument("email")
    p.add_argument("--off", action="store_true", help="remove the second factor")
    sub(g, "enable", cmd_staff_active, "enable an account").add_argument("email")
    p = sub(client_group, "assign", cmd_client_assign, "assign a client to a clinician")
    p.add_argument("client")
    p.add_argument("--staff", required=True, help="the clinician's e-mail")
    p.add_argument("--remove", action="store_true", help="remove the assignment")
