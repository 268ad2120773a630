"""The scaled topology's configuration: nginx accepts it, docker-compose is in step, the lock store.

Fast checks (seconds); the topology under faults is tests/scaling/test_faults.py.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml

from bot.launch import scaled
from bot.launch.localsvc import PrivateRedis, free_port
from bot.rasa_ext.lock_store import IPTRedisLockStore
from tests.helpers import REPO

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def test_docker_config_is_what_the_tested_topology_uses():
    topo = scaled.docker_topology()
    folder = REPO / "deploy" / "docker"
    regenerate = "regenerate: python -m bot.launch.scaled --write-docker-config deploy/docker"
    assert (folder / "nginx.conf").read_text() == scaled.render_nginx_conf(
        topo, None, docker=True), regenerate
    assert (folder / "endpoints.yml").read_text() == scaled.render_endpoints(
        topo, docker=True), regenerate


def test_docker_compose_runs_the_same_processes():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "rasa", "actions", "nginx", "web", "worker"} <= set(services)
    assert "deploy/docker/endpoints.yml" in services["rasa"]["command"]
    assert services["rasa"]["deploy"]["replicas"] >= 2
    assert any("deploy/docker/nginx.conf" in v for v in services["nginx"]["volumes"])


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed")
def test_nginx_accepts_the_generated_config(tmp_path):
    topo = scaled.Topology(rasa=3, actions=2)
    topo.assign_ports(free=False)
    (tmp_path / "tmp").mkdir()
    if os.geteuid() == 0:  # nginx's workers run as nobody
        shutil.chown(tmp_path / "tmp", "nobody", "nogroup")
    conf = tmp_path / "nginx.conf"
    text = scaled.render_nginx_conf(topo, tmp_path)
    conf.write_text(text)
    done = subprocess.run([NGINX, "-p", f"{tmp_path}/", "-e", "stderr", "-c", str(conf), "-t"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    # every Rasa server in both upstreams, socket.io sticky
    assert all(text.count(f"127.0.0.1:{p} ") == 2 for p in topo.rasa_ports)
    assert "hash $affinity consistent" in text


def test_endpoints_use_the_redis_lock_store():
    topo = scaled.Topology(redis_host="127.0.0.1", redis_port=6390, redis_db=2)
    topo.assign_ports(free=False)
    endpoints = yaml.safe_load(scaled.render_endpoints(topo))
    assert endpoints["lock_store"]["type"] == "bot.rasa_ext.lock_store.IPTRedisLockStore"
    assert (endpoints["lock_store"]["port"], endpoints["lock_store"]["db"]) == (6390, 2)
    assert endpoints["tracker_store"]["type"] == "bot.rasa_ext.tracker_store.IPTTrackerStore"


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_the_lock_store_waits_for_a_restarting_redis_and_still_excludes(tmp_path):
    redis = PrivateRedis(tmp_path / "redis", free_port())
    redis.start()
    store = IPTRedisLockStore(host="127.0.0.1", port=redis.port, db=1, outage_wait=10)
    order: list[str] = []

    async def hold(name: str, seconds: float) -> None:
        async with store.lock("conv-1"):
            order.append(f"{name} in")
            await asyncio.sleep(seconds)
            order.append(f"{name} out")

    async def two_at_once() -> None:
        await asyncio.gather(hold("a", 0.3), hold("b", 0.1))

    try:
        asyncio.run(two_at_once())
        assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
        redis.stop()
        threading.Timer(1.0, redis.start).start()
        t0 = time.monotonic()
        order.clear()
        asyncio.run(hold("c", 0))  # Redis is down: waits instead of failing
        assert order == ["c in", "c out"] and time.monotonic() - t0 >= 0.9
        assert store.outages == 1
    finally:
        time.sleep(1.2)
        redis.stop()


# Issue 19: the scaled mode's private services authenticate every client.

@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_the_private_redis_needs_its_password_and_keeps_it_off_the_command_line(tmp_path):
    import redis as redislib

    password = secrets.token_urlsafe(16)
    server = PrivateRedis(tmp_path / "redis", free_port(), password=password)
    server.start()
    try:
        with pytest.raises(redislib.exceptions.RedisError):
            redislib.Redis(host="127.0.0.1", port=server.port, socket_timeout=5).ping()
        assert redislib.Redis(host="127.0.0.1", port=server.port, password=password,
                              socket_timeout=5).ping()
        assert server.proc is not None
        assert password not in Path(f"/proc/{server.proc.pid}/cmdline").read_text()
        store = IPTRedisLockStore(host="127.0.0.1", port=server.port, db=1, password=password)

        async def locked() -> None:
            async with store.lock("conv-auth"):
                pass

        asyncio.run(locked())
    finally:
        server.stop()


def test_the_private_postgres_needs_its_password():
    import psycopg2

    from bot.launch.localsvc import PrivatePostgres, postgres_bin

    try:
        postgres_bin()
    except RuntimeError:
        pytest.skip("PostgreSQL server binaries not installed")
    work = Path(tempfile.mkdtemp(prefix="ipt-pgauth-"))  # PostgreSQL may run as `postgres`
    work.chmod(0o755)
    password = secrets.token_urlsafe(16)
    pg = PrivatePostgres(work / "pg", free_port(), work / "postgres.log", password=password)
    try:
        pg.start()
        url = pg.create_database("ipt")
        assert password in url
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(f"postgresql://postgres@127.0.0.1:{pg.port}/ipt", connect_timeout=5)
        psycopg2.connect(url, connect_timeout=5).close()
        hba = (work / "pg" / "pg_hba.conf").read_text()
        rules = [ln for ln in hba.splitlines() if ln.strip() and not ln.startswith("#")]
        assert rules and not any(ln.split()[-1] == "trust" for ln in rules)
    finally:
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)


def test_run_scaled_starts_its_private_services_with_passwords(tmp_path, monkeypatch):
    monkeypatch.setenv("IPT_VAR_DIR", str(tmp_path / "var"))
    pg = scaled.private_postgres(tmp_path / "run", 5999)
    redis = scaled.private_redis(tmp_path / "run", 6999)
    assert pg.password and redis.password and pg.password != redis.password
    # kept, so a restart of the same cluster uses the same password
    assert scaled.private_postgres(tmp_path / "run", 5999).password == pg.password
