"""The server-drawn mood chart: every value drawn, shapes and labels that do not need colour."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

from bot.services.console import chart

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
SVG = "{http://www.w3.org/2000/svg}"


def parse(markup) -> ET.Element:
    return ET.fromstring(str(markup).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def test_every_checkin_and_rating_is_a_labelled_marker_on_a_0_to_10_scale():
    checkins = [chart.Point(T0 + timedelta(days=i), v) for i, v in enumerate([0, 5, 10, 7])]
    felt = [chart.Point(T0 + timedelta(days=1, hours=2), 3)]
    root = parse(chart.mood_svg(checkins, felt, "Europe/Berlin"))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Mood over time (0 to 10)"
    assert "4 check-ins and 1 homework ratings" in root.find(f"{SVG}desc").text
    circles = [c for c in root.iter(f"{SVG}circle") if c.find(f"{SVG}title") is not None]
    assert [c.find(f"{SVG}title").text for c in circles] == [
        "check-in 01 Mar 10:00: mood 0", "check-in 02 Mar 10:00: mood 5",
        "check-in 03 Mar 10:00: mood 10", "check-in 04 Mar 10:00: mood 7"]
    ys = [float(c.get("cy")) for c in circles]
    assert ys[0] > ys[1] > ys[3] > ys[2]  # higher mood is drawn higher
    squares = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [r.find(f"{SVG}title").text for r in squares] == ["homework 02 Mar 12:00: felt 3"]
    legend = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "legend"]
    assert legend == ["check-in mood (line)", "homework: how it felt"]
    assert len(list(root.iter(f"{SVG}polyline"))) == 1


def test_one_point_and_no_points():
    root = parse(chart.mood_svg([chart.Point(T0, 4)], [], "UTC"))
    assert len(list(root.iter(f"{SVG}polyline"))) == 0
    assert "No check-ins" in str(chart.mood_svg([], [], "UTC"))
