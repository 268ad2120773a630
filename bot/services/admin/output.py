"""What ipt-admin and the console's own commands share: usage errors, times, tables, output.

Kept apart from ``cli`` so the console's commands (``bot.services.console.cli``), which
``cli`` registers, can use them without importing ``cli`` back.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo


class UsageError(Exception):
    """Bad command-line input (exit 2)."""




def parse_time(text: str, tz: str) -> datetime:
    """An aware datetime from ISO 8601 or "YYYY-MM-DD HH:MM"; naive means the client's zone."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(f"cannot read time {text!r}: use ISO 8601 or 'YYYY-MM-DD HH:MM'") from None
    if value.tzinfo is None:
        value = _wall_time(value, ZoneInfo(tz))
    return value.astimezone(timezone.utc)


def _wall_time(naive: datetime, zone: ZoneInfo) -> datetime:
    """A local time in ``zone``, refused when a daylight-saving change makes it missing or double.

    Either reading could be the one meant, so neither is guessed: the message names both and
    how to say which (an explicit UTC offset).
    """
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    readings = sorted((first.astimezone(timezone.utc), second.astimezone(timezone.utc)))
    shown = " or ".join(
        f"{r.astimezone(zone):%H:%M %Z} ({r:%H:%M} UTC, --at {r.astimezone(zone).isoformat()})"
        for r in readings
    )
    when = f"{naive:%Y-%m-%d %H:%M}"
    if first.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) != naive:
        raise UsageError(f"{when} does not exist in {zone.key}: the clocks go forward that night. "
                         f"The two readings are {shown}; give the one you mean with its offset")
    raise UsageError(f"{when} happens twice in {zone.key}: the clocks go back that night. "
                     f"The two readings are {shown}; give the one you mean with its offset")


def local(value: datetime | None, tz: str, for_json: bool = False) -> str | None:
    """A UTC time shown in the client's time zone."""
    if value is None:
        return None
    shown = value.astimezone(ZoneInfo(tz))
    return shown.isoformat() if for_json else shown.strftime("%Y-%m-%d %H:%M %Z")


def table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain text table with a header, columns padded to their widest cell."""
    if not rows:
        return "(none)"
    cells = [
        [("" if r.get(c) is None else str(r.get(c))).replace("\n", " ") for c in columns]
        for r in rows
    ]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Print JSON with --json, else the human text."""
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        print(text)
