"""Scale-out on one machine: 2 Rasa servers + the action server behind nginx.

    .venv/bin/python -m ops.scale            # `make scale`: start, print the URLs, Ctrl-C stops

Conversations and tickets live in PostgreSQL (127.0.0.1:5432), the
conversation lock in Redis (127.0.0.1:6379, `xiaoan.runtime.lock_store.AtomicRedisLockStore`),
and nginx (Debian package) spreads requests over both Rasa servers on one port.
If PostgreSQL, Redis or nginx is missing it stops with a message saying which
and how to start it: never a silent fallback to SQLite.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, List, Optional

from ops.services import ROOT, Service, ServiceError, action_server, rasa_server, write_endpoints

WORK = ROOT / "var" / "scale"
NGINX_TEMPLATE = ROOT / "ops" / "nginx.conf.template"
NGINX_PORT = 8088
RASA_PORTS = (5101, 5102)
ACTION_PORT = 5165
PG_HOST, PG_PORT = os.environ.get("POSTGRES_HOST", "127.0.0.1"), int(os.environ.get("POSTGRES_PORT", "5432"))
PG_USER = os.environ.get("POSTGRES_USER", "postgres")
PG_PASSWORD = os.environ.get("POSTGRES_PASSWORD", "")
PG_DB = os.environ.get("POSTGRES_DB", "xiaoan_scale")
REDIS_HOST, REDIS_PORT = os.environ.get("REDIS_HOST", "127.0.0.1"), int(os.environ.get("REDIS_PORT", "6379"))

HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no",
}

TICKET_LIFETIME_S = 10

LOCK_STORES = {
    # ours: atomic issue/release (Lua); Rasa's own: read-modify-write (Rasa issue 9213)
    "atomic": "xiaoan.runtime.lock_store.AtomicRedisLockStore",
    "stock": "redis",
}


class ScaleUnavailable(RuntimeError):
    """A service the scale-out set-up needs is not there."""


def reachable(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_services() -> None:
    """PostgreSQL, Redis and nginx, or a clear message saying what is missing."""
    problems = []
    for name, host, port in (("PostgreSQL", PG_HOST, PG_PORT), ("Redis", REDIS_HOST, REDIS_PORT)):
        if not reachable(host, port):
            problems.append(f"{name} is not reachable on {host}:{port}; start it with: {HOW_TO_START[name]}")
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        problems.append("nginx is not installed; `make scale-deps` installs Debian's package")
    if problems:
        raise ScaleUnavailable("scale-out set-up cannot start:\n  " + "\n  ".join(problems))


def postgres_url(database: str = PG_DB) -> str:
    password = f":{PG_PASSWORD}" if PG_PASSWORD else ""
    return f"postgresql://{PG_USER}{password}@{PG_HOST}:{PG_PORT}/{database}"


@contextmanager
def admin_cursor() -> Iterator[Any]:
    """A cursor on the server's `postgres` database, outside any transaction (CREATE/DROP DATABASE)."""
    import psycopg2

    connection = psycopg2.connect(postgres_url("postgres"))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def prepare_database(name: str = PG_DB, fresh: bool = True) -> None:
    """Creates the scale-out database; `fresh` drops it first, so a test run starts empty."""
    with admin_cursor() as cursor:
        if fresh:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')


def clear_locks(prefix: str) -> None:
    """Locks left in Redis by an earlier run (a killed server) would hold new conversations.

    Rasa stores a lock under ``<key_prefix>:lock:<conversation id>``.
    """
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=1)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def scale_endpoints(path: Path, lock_store: str, key_prefix: str) -> Path:
    tracker_store = (
        "tracker_store:\n  type: xiaoan.runtime.tracker_store.MaskingSQLTrackerStore\n"
        f"  dialect: postgresql\n  url: {PG_HOST}\n  port: {PG_PORT}\n  db: {PG_DB}\n"
        f"  username: {PG_USER}\n" + (f"  password: {PG_PASSWORD}\n" if PG_PASSWORD else "")
    )
    lock = (
        f"lock_store:\n  type: {LOCK_STORES[lock_store]}\n  url: {REDIS_HOST}\n  port: {REDIS_PORT}\n"
        f"  db: 1\n  key_prefix: {key_prefix}\n"
    )
    if lock_store == "atomic":  # held tickets are renewed, so a dead server's expire in 10 s
        lock += f"  ticket_lifetime: {TICKET_LIFETIME_S}\n"
    return write_endpoints(path, ACTION_PORT, tracker_store, lock)


def render_nginx(work: Path, listen: int, ports: List[int]) -> Path:
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    servers = "\n".join(
        f"        server 127.0.0.1:{port} max_fails=3 fail_timeout=5s;" for port in ports
    )
    text = NGINX_TEMPLATE.read_text(encoding="utf-8").format(
        work=work, listen=f"127.0.0.1:{listen}", servers=servers
    )
    path = work / "nginx.conf"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class ScaleStack:
    """nginx, two Rasa servers and one action server, over PostgreSQL and Redis."""

    lock_store: str = "atomic"
    work: Path = WORK
    auth_token: str = field(default_factory=lambda: os.environ.get("RASA_AUTH_TOKEN") or secrets.token_urlsafe(24))
    wechat_token: str = field(default_factory=lambda: os.environ.get("WECHAT_TOKEN") or "xiaoan-scale-test")
    rasa: List[Service] = field(default_factory=list)
    actions: Optional[Service] = None
    nginx: Optional[Service] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{NGINX_PORT}"

    def start(self, fresh: bool = True) -> "ScaleStack":
        check_services()
        self.work.mkdir(parents=True, exist_ok=True)
        prepare_database(fresh=fresh)
        key_prefix = f"xiaoan{self.lock_store}"  # Rasa accepts only letters and digits
        clear_locks(f"{key_prefix}:")
        endpoints = scale_endpoints(self.work / "endpoints.yml", self.lock_store, key_prefix)
        token_file = self.work / "auth_token"
        token_file.write_text(self.auth_token, encoding="utf-8")
        token_file.chmod(0o600)
        self.actions = action_server(
            ACTION_PORT, self.work / "actions.log", {"XIAOAN_BACKOFFICE_URL": postgres_url()}
        ).start()
        self.rasa = [
            rasa_server(port, endpoints, self.work / f"rasa-{port}.log", auth_token=self.auth_token,
                        env={"WECHAT_TOKEN": self.wechat_token})
            for port in RASA_PORTS
        ]
        for server in self.rasa:
            server.start()
        conf = render_nginx(self.work, NGINX_PORT, list(RASA_PORTS))
        self.nginx = Service(
            name=f"nginx :{NGINX_PORT}", argv=["nginx", "-c", str(conf), "-p", str(self.work)],
            health_url=f"{self.url}/webhooks/rest/", log_path=self.work / "nginx.log",
        ).start()
        self.actions.wait_ready(60)
        for server in self.rasa:
            server.wait_ready()
        self.nginx.wait_ready(30)
        return self

    def stop(self) -> None:
        for service in [self.nginx, *self.rasa, self.actions]:
            if service is not None:
                service.stop()

    def upstream_ports_seen(self) -> List[int]:
        """The Rasa ports nginx passed requests to, from its access log."""
        seen = []
        log = self.work / "nginx-access.log"
        for line in log.read_text(encoding="utf-8").splitlines() if log.exists() else []:
            for port in RASA_PORTS:
                if f"127.0.0.1:{port}" in line.rsplit("->", 1)[-1]:
                    seen.append(port)
        return seen


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock-store", choices=sorted(LOCK_STORES), default="atomic")
    parser.add_argument("--keep-data", action="store_true", help="keep the conversations of an earlier run")
    args = parser.parse_args(argv)
    stack = ScaleStack(lock_store=args.lock_store)
    try:
        stack.start(fresh=not args.keep_data)
    except (ScaleUnavailable, ServiceError) as problem:
        stack.stop()
        print(problem)
        return 2
    print(f"""
小安 scale-out is up ({args.lock_store} lock store).
  nginx:   {stack.url}   (REST /webhooks/rest/webhook, socket.io, WeChat /webhooks/wechat/webhook)
  Rasa:    {', '.join(f'127.0.0.1:{p}' for p in RASA_PORTS)}   action server 127.0.0.1:{ACTION_PORT}
  API token (for /conversations/...): {stack.work / 'auth_token'}
  Logs:    {stack.work}/
  Ctrl-C stops everything.""", flush=True)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        while not stopping and all(s.running for s in [stack.nginx, *stack.rasa, stack.actions] if s):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not orphan a server
        stack.stop()
        print("小安 scale-out stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
