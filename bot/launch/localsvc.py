"""A private PostgreSQL cluster and a private Redis on loopback, for one machine.

`make run-scaled` starts them under var/scaled/ when no PostgreSQL/Redis URL is given, and the
fault tests start throwaway ones in a temporary folder, so that restarting them never touches
the machine's shared servers. Each is started, stopped and restarted by its data folder and
port; nothing here reads or writes a system configuration.

PostgreSQL's ``initdb`` refuses to run as root: as root, the cluster is created and run as
the ``postgres`` system user (Debian's package creates it) through ``runuser``.

With a ``password`` (as `make run-scaled` gives them), PostgreSQL asks every connection for it
(scram-sha-256, no ``trust``) and Redis requires it (``requirepass``, set in a 0600 config
file, never on the command line).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f}s")


def postgres_bin() -> Path:
    """The newest PostgreSQL server binaries Debian installed (/usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in ``data_dir`` on 127.0.0.1:``port``; password auth with one."""

    data_dir: Path
    port: int
    log_file: Path | None = None
    password: str | None = None
    _as_user: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        self.log_file = Path(self.log_file or self.data_dir.parent / "postgres.log").resolve()
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        user = "postgres" + (f":{quote(self.password, safe='')}" if self.password else "")
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([*self._as_user, *args], check=False, capture_output=True,
                              text=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-500:]}")
        return done

    def _own(self, path: Path) -> None:
        if self._as_user:
            shutil.chown(path, "postgres", "postgres")

    def init(self) -> None:
        """Create the cluster once (a no-op when ``data_dir`` already holds one)."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._own(self.data_dir)
        if self._as_user:
            # the postgres user must reach its folder (a temporary folder is 0700 root)
            parent = self.data_dir.parent
            if parent.stat().st_uid == os.geteuid():
                parent.chmod(parent.stat().st_mode | 0o011)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        self._own(self.log_file)
        if not self.password:
            self._run(str(postgres_bin() / "initdb"), "-D", str(self.data_dir), "-U",
                      "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync")
            return
        # the superuser's password from a 0600 file (never on a command line), then removed
        pwfile = self.data_dir.parent / f".pwfile-{os.getpid()}"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.password + "\n")
        self._own(pwfile)
        try:
            self._run(str(postgres_bin() / "initdb"), "-D", str(self.data_dir), "-U",
                      "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}",
                      "--encoding=UTF8", "--no-sync")
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is already in use: choose another")
        self.init()
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir} "
                "-c fsync=on -c max_connections=200 -c shared_buffers=32MB")
        self._run(str(postgres_bin() / "pg_ctl"), "-D", str(self.data_dir), "-l",
                  str(self.log_file), "-o", opts, "-w", "-t", "60", "start")
        _wait(lambda: port_open(self.port), 30, "PostgreSQL")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions, as a service restart does)."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run(str(postgres_bin() / "pg_ctl"), "-D", str(self.data_dir), "-m", mode,
                      "-w", "-t", "60", "stop", check=False)

    def restart(self, down_for: float = 0.0) -> None:
        """Stop, stay down ``down_for`` seconds, start again."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def create_database(self, name: str) -> str:
        """Create database ``name`` if missing; returns its URL."""
        import psycopg2

        conn = psycopg2.connect(self.url, connect_timeout=5)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url_for(name)


@dataclass
class PrivateRedis:
    """A redis-server on 127.0.0.1:``port``, a child of this process, with no persistence."""

    work_dir: Path
    port: int
    password: str | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is already in use: choose another")
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server not found: apt-get install redis-server")
        self.work_dir = Path(self.work_dir).resolve()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        log = (self.work_dir / "redis.log").open("ab")
        config: list[str] = []
        if self.password:
            conf = self.work_dir / "redis.conf"
            fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f'requirepass "{self.password}"\n')
            config = [str(conf)]
        self.proc = subprocess.Popen(
            [server, *config, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.work_dir), "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(lambda: port_open(self.port), 15, "Redis")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()
