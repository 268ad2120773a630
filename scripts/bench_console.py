"""Console page times: the client list with 500 clients and one client with 200 check-ins.

usage: .venv/bin/python scripts/bench_console.py [--clients 500] [--requests 30]

Seeds a throwaway SQLite database with fictional records, starts ``python -m bot.services.console``
on a loopback port, signs in as an administrator and times whole HTTP requests (server
render and transfer) with requests; prints p50 and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    import requests

    from bot.clinic.store import db
    from bot.clinic.store.models import utcnow
    from tests.console import seed
    from tests.console.conftest import csrf_of
    from tests.helpers import free_port, start, stop, wait_http

    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    url = f"sqlite:///{tmp / 'ipt.db'}"
    db.migrate(url)
    now = utcnow()
    with db.unit_of_work(url) as s:
        seed.staff(s, "admin@clinic.example", "admin", now)
        robin = seed.client_with_history(s, now, "Robin Example", 200)
        for i in range(args.clients - 1):
            seed.client_with_history(s, now, f"Client {i:04d}", 5, seed=i)
        pid = robin.public_id
    db.dispose_all()
    port = free_port()
    proc = start([sys.executable, "-m", "bot.services.console", "--port", str(port)], tmp / "console.log",
                 env={"IPT_DATABASE_URL": url})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/health", proc=proc)
        http = requests.Session()
        form = http.get(f"{base}/login")
        http.post(f"{base}/login", data={"csrf": csrf_of(form.text), "email": "admin@clinic.example",
                                         "password": seed.PASSWORD})
        for name, path in ((f"client list ({args.clients} clients)", "/clients?status=all"),
                           ("one client (200 check-ins)", f"/clients/{pid}")):
            http.get(base + path).raise_for_status()  # warm up
            times = []
            for _ in range(args.requests):
                t = time.perf_counter()
                r = http.get(base + path)
                times.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
            times.sort()
            p95 = times[max(0, int(len(times) * 0.95) - 1)]
            print(f"{name:32} p50 {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms   "
                  f"({len(r.content) // 1024} KiB)")
    finally:
        stop(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
