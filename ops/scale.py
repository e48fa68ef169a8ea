"""Scale-out on one machine: 2 Rasa servers + the action server behind nginx, supervised.

    .venv/bin/python -m ops.scale            # `make scale`: start, show what happens, Ctrl-C stops everything

Conversations and tickets live in PostgreSQL (127.0.0.1:5432), the
conversation lock in Redis (127.0.0.1:6379, `xiaoan.runtime.lock_store.AtomicRedisLockStore`),
nginx (Debian package) spreads requests over both Rasa servers on one port,
and the chat page talks to nginx. Every process runs under supervisord
(`ops/supervisor_run.py`): one that dies is started again, with back-off if it
keeps dying at once; the health watch (`ops/healthwatch.py`) restarts one
that stops answering and keeps nginx sending users only to ready servers.
If PostgreSQL, Redis or nginx is missing it stops with a message saying
which and how to start it: never a silent fallback to SQLite.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ops import nginx
from ops.services import PYTHON, ROOT, ServiceError, write_endpoints, write_secret
from ops.display import TerminalDisplay
from ops.foreground import ignore_signals, run_in_foreground, stop_on_signals
from ops.probes import port_in_use
from ops.supervisor_config import Program
from ops.supervisor_run import Supervisor
from xiaoan.identity.seal import key_env
from xiaoan.identity.tokens import secret_env

WORK = ROOT / "var" / "scale"
NGINX_PORT = 8088
RASA_PORTS = (5101, 5102)
ACTION_PORT = 5165
WEB_PORT = int(os.environ.get("SCALE_WEB_PORT", "8089"))
CONSOLE_PORT = int(os.environ.get("SCALE_CONSOLE_PORT", "8091"))  # the staff console (console/)
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
# A Rasa server loads its model before it listens: ~20 s alone, up to a minute or two
# with two loading at once on 2 cores. Only past this does the health watch restart a silent one.
RASA_STARTUP_GRACE_S = 300.0
# Longer than Rasa's client pool keeps idle connections (ops/services.py).
ACTION_SERVER_KEEP_ALIVE = "75"

LOCK_STORES = {
    # ours: atomic issue/release (Lua); Rasa's own: read-modify-write (Rasa issue 9213)
    "atomic": "xiaoan.runtime.lock_store.AtomicRedisLockStore",
    "stock": "redis",
}
WECHAT_VARIABLES = ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_ENCODING_AES_KEY", "WECHAT_APP_SECRET", "WECHAT_API_BASE")


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


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def postgres_url(database: str = PG_DB, host: str = PG_HOST, port: int = PG_PORT) -> str:
    password = f":{PG_PASSWORD}" if PG_PASSWORD else ""
    return f"postgresql://{PG_USER}{password}@{host}:{port}/{database}"


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


def scale_endpoints(path: Path, lock_store: str, key_prefix: str,
                    postgres: Tuple[str, int] = (PG_HOST, PG_PORT),
                    redis: Tuple[str, int] = (REDIS_HOST, REDIS_PORT)) -> Path:
    tracker_store = (
        "tracker_store:\n  type: xiaoan.runtime.tracker_store.MaskingSQLTrackerStore\n"
        f"  dialect: postgresql\n  url: {postgres[0]}\n  port: {postgres[1]}\n  db: {PG_DB}\n"
        f"  username: {PG_USER}\n" + (f"  password: {json.dumps(PG_PASSWORD)}\n" if PG_PASSWORD else "")
    )
    lock = (
        f"lock_store:\n  type: {LOCK_STORES[lock_store]}\n  url: {redis[0]}\n  port: {redis[1]}\n"
        f"  db: 1\n  key_prefix: {key_prefix}\n"
    )
    if lock_store == "atomic":  # held tickets are renewed, so a dead server's expire in 10 s
        lock += f"  ticket_lifetime: {TICKET_LIFETIME_S}\n"
    path = write_endpoints(path, ACTION_PORT, tracker_store, lock)
    path.chmod(0o600)
    return path


def render_nginx(work: Path, listen: int, ports: List[int], down: Tuple[int, ...] = ()) -> Path:
    return nginx.render(work, listen, ports, down)


@dataclass
class ScaleStack:
    """nginx, two Rasa servers, the action server and the chat page, supervised, over PostgreSQL and Redis.

    `routes` gives a Rasa server its own address for PostgreSQL or Redis (e.g. a
    connection pooler on its host); the tests use it to cut one server off.
    """

    lock_store: str = "atomic"
    work: Path = WORK
    auth_token: str = field(default_factory=lambda: os.environ.get("RASA_AUTH_TOKEN") or secrets.token_urlsafe(24))
    # the deployment's WECHAT_TOKEN, else a random one per run (never a constant: issue 19), in wechat_token_file
    wechat_token: str = field(default_factory=lambda: os.environ.get("WECHAT_TOKEN") or secrets.token_urlsafe(32))
    routes: Dict[int, Dict[str, Tuple[str, int]]] = field(default_factory=dict)
    supervisor: Optional[Supervisor] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{NGINX_PORT}"

    @property
    def token_file(self) -> Path:
        return self.work / "auth_token"

    @property
    def wechat_token_file(self) -> Path:
        return self.work / "wechat_token"

    @staticmethod
    def rasa_name(port: int) -> str:
        return f"rasa-{port}"

    @staticmethod
    def handover_env() -> Dict[str, str]:
        """The hand-over tables (queue, claims, staff, sessions) in PostgreSQL, shared by every process."""
        return {"XIAOAN_HANDOVER_URL": postgres_url()}

    def programs(self, key_prefix: str) -> List[Program]:
        # every server reads the same API token, identity secret and ingress key (xiaoan/identity/seal.py) files
        common_env = {"XIAOAN_AUTH_TOKEN_FILE": str(self.token_file), **secret_env(self.work), **key_env(self.work)}
        programs = [Program(
            name="actions", label=f"actions :{ACTION_PORT}",
            argv=[PYTHON, "-m", "xiaoan.runtime", "run", "actions", "--actions", "actions", "--port", str(ACTION_PORT)],
            log=self.work / "actions.log", port=ACTION_PORT,
            env={**common_env, "XIAOAN_BACKOFFICE_URL": postgres_url(), "SANIC_HOST": "127.0.0.1",
                 "SANIC_KEEP_ALIVE_TIMEOUT": ACTION_SERVER_KEEP_ALIVE, **self.handover_env(),
                 # the hand-over queue's hourly limits, shared with any other action server
                 "XIAOAN_RATE_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/4"},
            live_url=f"http://127.0.0.1:{ACTION_PORT}/health/live",
            ready_url=f"http://127.0.0.1:{ACTION_PORT}/health/ready",
            startsecs=5, priority=100, startup_grace_s=60.0,
        )]
        wechat = {name: os.environ.get(name, "") for name in WECHAT_VARIABLES}
        wechat["WECHAT_TOKEN"] = self.wechat_token
        if self.wechat_token != os.environ.get("WECHAT_TOKEN"):  # this run's own: where a person finds it
            write_secret(self.wechat_token_file, self.wechat_token)
        for port in RASA_PORTS:
            redis = self.routes.get(port, {}).get("redis", (REDIS_HOST, REDIS_PORT))
            endpoints = scale_endpoints(
                self.work / f"endpoints-{port}.yml", self.lock_store, key_prefix,
                postgres=self.routes.get(port, {}).get("postgres", (PG_HOST, PG_PORT)),
                redis=redis,
            )
            programs.append(Program(
                name=self.rasa_name(port), label=f"Rasa :{port}",
                # the API token comes from XIAOAN_AUTH_TOKEN_FILE: in no command line that `ps` shows
                argv=[PYTHON, "-m", "xiaoan.runtime", "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port),
                      "-m", "models", "--credentials", "credentials.yml", "--endpoints", str(endpoints)],
                log=self.work / f"rasa-{port}.log", port=port,
                env={**common_env, **wechat, "WEB_PORT": str(WEB_PORT),  # the chat page's origin for socket.io
                     **self.handover_env(),
                     # a staff reply reaches a socket.io session whichever server holds it (channels/socketio.py)
                     "XIAOAN_SOCKETIO_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/2",
                     # a WeChat callback replayed to the other server is refused too (channels/wechat_state.py)
                     "XIAOAN_WECHAT_REDIS_URL": f"redis://{redis[0]}:{redis[1]}/3",
                     # both servers count one rate per sender and per address (xiaoan/runtime/limits.py),
                     # the address being the client nginx names (X-Forwarded-For), not nginx itself
                     "XIAOAN_RATE_REDIS_URL": f"redis://{redis[0]}:{redis[1]}/4",
                     "XIAOAN_TRUSTED_PROXY": "127.0.0.1"},
                live_url=f"http://127.0.0.1:{port}/health/live",
                ready_url=f"http://127.0.0.1:{port}/health/ready",
                startsecs=10, priority=200, startup_grace_s=RASA_STARTUP_GRACE_S,
            ))
        programs.append(Program(
            name="web", label=f"chat page :{WEB_PORT}", argv=[PYTHON, "web/serve.py"],
            log=self.work / "web.log", port=WEB_PORT,
            env={"WEB_PORT": str(WEB_PORT), "RASA_URL": self.url},
            live_url=f"http://127.0.0.1:{WEB_PORT}/health/live", ready_url=None,
            startsecs=2, stopwaitsecs=10, priority=300, startup_grace_s=30.0,
        ))
        programs.append(Program(  # the staff console: shared stores, any Rasa server through nginx
            name="console", label=f"staff console :{CONSOLE_PORT}", argv=[PYTHON, "-m", "console"],
            log=self.work / "console.log", port=CONSOLE_PORT,
            env={**common_env, **self.handover_env(), "CONSOLE_PORT": str(CONSOLE_PORT), "RASA_URL": self.url,
                 "XIAOAN_ENDPOINTS": str(self.work / f"endpoints-{RASA_PORTS[0]}.yml"),
                 "XIAOAN_BACKOFFICE_URL": postgres_url()},
            live_url=f"http://127.0.0.1:{CONSOLE_PORT}/health/live", ready_url=None,
            startsecs=2, stopwaitsecs=10, priority=300, startup_grace_s=30.0,
        ))
        conf = render_nginx(self.work, NGINX_PORT, list(RASA_PORTS))
        programs.append(Program(
            name="nginx", label=f"nginx :{NGINX_PORT}",
            argv=[nginx_binary(), "-c", str(conf), "-p", str(self.work)],
            log=self.work / "nginx.log", port=NGINX_PORT,
            live_url=f"{self.url}/health/live", ready_url=f"{self.url}/health/ready",
            startsecs=2, stopsignal="QUIT", stopwaitsecs=30, priority=400, startup_grace_s=30.0,
        ))
        return programs

    def start(self, fresh: bool = True, timeout: float = 420.0) -> "ScaleStack":
        check_services()
        self.work.mkdir(parents=True, exist_ok=True)
        # before the database is touched: another stack running here would lose its conversations
        busy = [port for port in (*RASA_PORTS, ACTION_PORT, WEB_PORT, CONSOLE_PORT, NGINX_PORT) if port_in_use(port)]
        if busy:
            raise ServiceError(f"ports already in use (another scale-out runs here?): {busy}")
        prepare_database(fresh=fresh)
        if fresh:  # a fresh start is a fresh set of logs: what a run's logs hold is that run's
            for old_log in self.work.glob("*.log"):
                old_log.unlink()
        key_prefix = f"xiaoan{self.lock_store}"  # Rasa accepts only letters and digits
        clear_locks(f"{key_prefix}:")
        self.token_file.write_text(self.auth_token, encoding="utf-8")
        self.token_file.chmod(0o600)
        programs = self.programs(key_prefix)
        watch = self.work / "healthwatch.json"
        watch.write_text(json.dumps({
            "work": str(self.work), "interval_s": 2, "unresponsive_s": 30,
            "programs": [p.watch() for p in programs],
            "nginx": {"program": "nginx", "work": str(self.work), "listen": NGINX_PORT,
                      "servers": [{"port": port, "program": self.rasa_name(port)} for port in RASA_PORTS]},
        }, indent=2), encoding="utf-8")
        programs.append(Program(
            name="healthwatch", label="health watch", argv=[PYTHON, "-m", "ops.healthwatch", str(watch)],
            log=self.work / "healthwatch.log", startsecs=2, stopwaitsecs=5, priority=900,
        ))
        self.supervisor = Supervisor(self.work, programs, name="xiaoan-scale")
        self.supervisor.start()
        try:
            self.supervisor.wait_ready(timeout=timeout)
        except ServiceError:
            self.stop()
            raise
        return self

    def stop(self) -> List[str]:
        """Everything stopped; what had to be killed afterwards (empty: nothing was left)."""
        return self.supervisor.stop() if self.supervisor is not None else []

    # for the tests and for an operator at a Python prompt
    def kill(self, name: str) -> int:
        assert self.supervisor is not None
        return self.supervisor.kill(name)

    def upstream_ports_seen(self) -> List[int]:
        """The Rasa ports nginx passed requests to, from its access log."""
        seen = []
        log = self.work / "nginx-access.log"
        for line in log.read_text(encoding="utf-8").splitlines() if log.exists() else []:
            for port in RASA_PORTS:
                if f"127.0.0.1:{port}" in line.rsplit("->", 1)[-1]:
                    seen.append(port)
        return seen


def banner(stack: ScaleStack, lock_store: str, display: TerminalDisplay) -> str:
    ports = ", ".join(f"127.0.0.1:{p}" for p in RASA_PORTS)
    return f"""
小安 scale-out is up ({lock_store} lock store), every process supervised.
  nginx:     {stack.url}   (REST /webhooks/rest/webhook, socket.io, WeChat /webhooks/wechat/webhook)
  chat page: http://127.0.0.1:{WEB_PORT}/
  Rasa:      {ports}   action server 127.0.0.1:{ACTION_PORT}
  health:    GET /health/live and /health/ready on each of them (nginx: {stack.url}/health/ready)
  metrics:   GET /metrics on each Rasa port and the action server, with the API token
             (Authorization: Bearer $(cat {stack.token_file})); Prometheus: ops/monitoring/
  API token (for /conversations/...): {stack.token_file}
  WeChat token: {"WECHAT_TOKEN's" if stack.wechat_token == os.environ.get('WECHAT_TOKEN') else "this run's random one, in " + str(stack.wechat_token_file)}
  Logs:      {stack.work}/*.log (JSON lines)   supervisor: {stack.work}/supervisord.log

{display.status_table()}

Ctrl-C stops everything. What happens from now on:"""


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock-store", choices=sorted(LOCK_STORES), default="atomic")
    parser.add_argument("--keep-data", action="store_true", help="keep the conversations of an earlier run")
    args = parser.parse_args(argv)
    stack = ScaleStack(lock_store=args.lock_store)
    print("Starting 小安 scale-out (2 Rasa servers load their model: about a minute) …", flush=True)
    stop_on_signals()
    try:
        stack.start(fresh=not args.keep_data)
    except KeyboardInterrupt:
        ignore_signals()
        stack.stop()
        print("小安 scale-out stopped.")
        return 1
    except (ScaleUnavailable, ServiceError) as problem:
        ignore_signals()
        stack.stop()
        print(problem)
        return 2
    assert stack.supervisor is not None
    display = TerminalDisplay(stack.supervisor)
    return run_in_foreground(stack.supervisor, lambda: banner(stack, args.lock_store, display), display,
                             "小安 scale-out stopped; nothing left running.")


if __name__ == "__main__":
    raise SystemExit(main())
