"""scripts/soak_reminders.py stays runnable: its plan meets every boundary, and a tiny soak
(60 reminders, a worker and Rasa each killed once, two workers on PostgreSQL) passes.

The full soak (2,000 reminders, about 6 minutes) is run by hand; docs/reminders.md has its
figures. This keeps the script from rotting in between, in well under 20 seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zoneinfo
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.clinic import reminders
from scripts import soak_reminders as soak
from tests.helpers import REPO
from tests.store import dbutil

WINDOW = timedelta(seconds=240)


@pytest.fixture
def made_up_zones(tmp_path):
    """Point zoneinfo at a directory for the run's made-up zone; put things back after."""
    before = zoneinfo.TZPATH
    (tmp_path / "Soak").mkdir()
    zoneinfo.reset_tzpath([str(tmp_path), *before])
    yield tmp_path
    zoneinfo.reset_tzpath(before)
    ZoneInfo.clear_cache(only_keys=[soak.DST_ZONE])


@pytest.mark.parametrize("start", [
    datetime(2026, 12, 1, 5, 58, 55, tzinfo=timezone.utc),
    datetime(2026, 12, 1, 0, 0, 0, tzinfo=timezone.utc),
    datetime(2027, 3, 28, 13, 30, 10, tzinfo=timezone.utc),
    datetime(2027, 7, 14, 23, 59, 30, tzinfo=timezone.utc),
])
def test_the_plan_brings_each_quiet_hours_boundary_and_the_clock_change_into_the_run(
        start, made_up_zones):
    plan = soak.plan_run(start, WINDOW)
    (made_up_zones / soak.DST_ZONE).write_bytes(
        soak.tzif(plan.dst_before, plan.dst_after, plan.dst_at))
    ZoneInfo.clear_cache(only_keys=[soak.DST_ZONE])
    zone = {z.role: z.name for z in plan.zones}
    assert len(set(zone.values())) == 5
    second = timedelta(seconds=1)
    assert start < plan.quiet_start < plan.quiet_end <= start + WINDOW * 0.9
    assert plan.quiet_start < plan.dst_at < start + WINDOW

    def quiet(role, at):
        return soak.in_quiet(at, zone[role], plan.policy)

    for at in (start, plan.quiet_start, plan.quiet_end, start + WINDOW):
        assert quiet("night", at) and not quiet("day", at)
    assert not quiet("evening", plan.quiet_start - second) and quiet("evening", plan.quiet_start)
    assert quiet("morning", plan.quiet_end - second) and not quiet("morning", plan.quiet_end)
    assert not quiet("dst", plan.dst_at - second) and quiet("dst", plan.dst_at)
    # the worker's own reading of the same zones agrees
    assert reminders.quiet_hours_end(plan.quiet_end - second, zone["morning"],
                                     plan.policy) == plan.quiet_end
    # the made-up zone moves its clocks forward an hour: the day before is 23 hours then
    dst = ZoneInfo(soak.DST_ZONE)
    assert (plan.dst_at - second).astimezone(dst).utcoffset() == plan.dst_before
    assert plan.dst_at.astimezone(dst).utcoffset() == plan.dst_before + timedelta(hours=1)
    due = plan.dst_at - timedelta(minutes=1)
    session = (due.astimezone(dst) + timedelta(days=1)).astimezone(timezone.utc)
    assert session - due == timedelta(hours=23)
    assert reminders.lead_back(session, 1440, dst) == due


def test_the_busiest_second_is_counted_over_a_sliding_window():
    assert soak.max_per_second([]) == 0
    # two in each whole second, four between 0.5 and 1.5
    assert soak.max_per_second([0.5, 0.9, 1.2, 1.4, 2.6]) == 4


@pytest.mark.postgres
def test_a_tiny_soak_with_a_worker_and_rasa_killed_loses_nothing_and_sends_nothing_twice(
        tmp_path):
    if not dbutil.pg_available():
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    result = tmp_path / "soak.json"
    run = subprocess.run(
        [sys.executable, "scripts/soak_reminders.py", "--reminders", "60", "--clients", "10",
         "--window", "4", "--warmup", "2.5", "--worker-kills", "1", "--rasa-kills", "1",
         "--hold", "3", "--retry", "1", "--poll", "0.2", "--restart-after", "0.5",
         "--rasa-down", "0.5", "--grace", "0.5", "--redis", "off", "--json", str(result),
         "--logs", str(tmp_path / "logs")],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=90,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    res = json.loads(result.read_text())
    checks = res["checks"]
    assert res["ok"] and checks["lost"] == checks["twice"] == checks["in_quiet_hours"] == 0
    assert res["reminders"] == 60
    assert res["sent"] + sum(res["dropped"].values()) + res["held_for_morning"] == 60
    assert res["sent"] == res["messages"] > 0
    assert [f["what"].split()[0] for f in res["faults"]] == ["worker", "Rasa"]
    assert all(f["back_after_s"] is not None for f in res["faults"])
    assert "| sent twice | 0 |" in run.stdout
