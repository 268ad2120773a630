"""The date-sensitive tests pass whatever the date: they run again with the clock moved.

Every test marked ``clock`` (codes and their expiry, reminders and their due times, the
worker, homework and check-ins, retention, safety flags, the clinic's command line) runs a
second and a third time in a child pytest under Debian's ``faketime`` (installed by
scripts/system-deps.sh), which moves the clock of the child and of every process it starts:

- **a year ahead**: 400 days after today, so a test that fixes a date and lets the code read
  the real clock (a code made "now" and checked against the machine's date) fails;
- **across a daylight-saving change**: 40 seconds before the next spring-forward in
  Europe/Berlin, with ``TZ=Europe/Berlin``, so the child's clock jumps an hour of local time
  while it runs and anything that reads local time instead of UTC shows it.

Offsets are relative (``faketime -f +Ns``): the moved clock keeps ticking and every process
of the run agrees on it. A child that cannot find faketime fails here, it does not skip: the
check exists to fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import REPO, next_clock_change

BERLIN = ZoneInfo("Europe/Berlin")


def test_next_spring_forward_is_the_last_sunday_of_march_in_berlin():
    change = next_clock_change(BERLIN, datetime(2026, 11, 30, tzinfo=timezone.utc))
    assert change == datetime(2027, 3, 28, 1, 0, tzinfo=timezone.utc)
    before, after = (change + timedelta(seconds=s) for s in (-1, 0))
    assert (before.astimezone(BERLIN).hour, after.astimezone(BERLIN).hour) == (1, 3)


def _scenarios() -> list:
    now = datetime.now(timezone.utc)
    spring = next_clock_change(BERLIN, now + timedelta(minutes=5)) - timedelta(seconds=40)
    return [
        pytest.param(timedelta(days=400), "UTC", id="a-year-ahead"),
        pytest.param(spring - now, "Europe/Berlin", id="across-daylight-saving"),
    ]


@pytest.mark.parametrize(("shift", "tz"), _scenarios())
def test_the_date_sensitive_tests_pass_with_the_clock_moved(shift, tz, tmp_path):
    faketime = shutil.which("faketime")
    assert faketime, "faketime is missing: scripts/system-deps.sh installs it (make test)"
    env = {**os.environ, "TZ": tz, "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [
        faketime, "-f", f"{int(shift.total_seconds()):+d}s",
        sys.executable, "-m", "pytest", "-q", "-m", "clock", "-p", "no:cacheprovider",
        "--basetemp", str(tmp_path / "child"), "tests",
    ]
    run = subprocess.run(
        cmd, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
        stdin=subprocess.DEVNULL,
    )
    tail = "\n".join((run.stdout + run.stderr).splitlines()[-40:])
    assert run.returncode == 0, f"with the clock moved {shift} ({tz}):\n{tail}"
    assert " passed" in tail and "no tests ran" not in tail, tail
