"""The mood chart: an inline SVG drawn on the server from the check-ins (no script, no library).

Readable without colour: check-ins are round markers joined by a line, homework "how it felt"
marks are square markers with no line, the legend names both shapes, and the SVG has a title
and a description; the page also shows the same data as a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 28, 40


@dataclass(frozen=True)
class Point:
    """One value 0-10 at a time."""

    at: datetime
    value: int


def _x(at: datetime, start: float, span: float) -> float:
    return LEFT + (at.timestamp() - start) / span * (WIDTH - LEFT - RIGHT)


def _y(value: int) -> float:
    return TOP + (10 - value) / 10 * (HEIGHT - TOP - BOTTOM)


def mood_svg(checkins: list[Point], feelings: list[Point], tz: str, chart_id: str = "mood") -> Markup:
    """The SVG chart (safe markup); an empty-state sentence when there is nothing to draw."""
    everything = checkins + feelings
    if not everything:
        return Markup('<p class="empty">No check-ins or homework ratings yet.</p>')
    zone = ZoneInfo(tz)
    times = sorted(p.at for p in everything)
    start, end = times[0].timestamp(), times[-1].timestamp()
    span = max(end - start, 86400.0)
    start -= span * 0.02
    span *= 1.04
    first, last = times[0].astimezone(zone), times[-1].astimezone(zone)
    out = [
        (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
         f'aria-labelledby="{chart_id}-title {chart_id}-desc" preserveAspectRatio="xMidYMid meet">'),
        f'<title id="{chart_id}-title">Mood over time (0 to 10)</title>',
        (f'<desc id="{chart_id}-desc">{len(checkins)} check-ins and {len(feelings)} homework '
         f"ratings from {first:%d %b %Y} to {last:%d %b %Y}. "
         "The table below has every value.</desc>"),
    ]
    for v in (0, 5, 10):
        y = _y(v)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="axis" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{v}</text>')
    ticks = 5
    for i in range(ticks):
        t = times[0].timestamp() + (times[-1].timestamp() - times[0].timestamp()) * i / (ticks - 1)
        at = datetime.fromtimestamp(t, zone)
        x = _x(at, start, span)
        out.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                   f'text-anchor="middle">{at:%d %b}</text>')
        if times[0] == times[-1]:
            break
    line = sorted(checkins, key=lambda p: p.at)
    if len(line) > 1:
        pts = " ".join(f"{_x(p.at, start, span):.1f},{_y(p.value):.1f}" for p in line)
        out.append(f'<polyline class="mood-line" points="{pts}"/>')
    r = 4 if len(line) <= 60 else 2.5  # many points: smaller markers, still distinct
    for p in line:
        label = escape(f"check-in {p.at.astimezone(zone):%d %b %H:%M}: mood {p.value}")
        out.append(f'<circle class="mood" cx="{_x(p.at, start, span):.1f}" cy="{_y(p.value):.1f}" '
                   f'r="{r}"><title>{label}</title></circle>')
    for p in sorted(feelings, key=lambda p: p.at):
        x, y = _x(p.at, start, span), _y(p.value)
        label = escape(f"homework {p.at.astimezone(zone):%d %b %H:%M}: felt {p.value}")
        out.append(f'<rect class="felt" x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8">'
                   f"<title>{label}</title></rect>")
    ly = HEIGHT - 8
    out.append(f'<circle class="mood" cx="{LEFT + 6}" cy="{ly - 4}" r="4"/>'
               f'<text class="legend" x="{LEFT + 16}" y="{ly}">check-in mood (line)</text>'
               f'<rect class="felt" x="{LEFT + 190}" y="{ly - 8}" width="8" height="8"/>'
               f'<text class="legend" x="{LEFT + 204}" y="{ly}">homework: how it felt</text>')
    out.append("</svg>")
    return Markup("".join(out))
