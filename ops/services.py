"""One server process at a time: start it, wait until it answers, stop or kill it.

The fault and scale-out tests restart servers in the middle of a conversation,
so each server is an object that can be started again with the same command,
environment and log file.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONHASHSEED": "0",
}
# Longer than Rasa's client pool keeps idle connections, so a reused connection
# is never one the action server has just closed ("closing transport").
ACTION_SERVER_KEEP_ALIVE = "75"


class ServiceError(RuntimeError):
    """A server did not come up; the message says where its log is."""


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class Service:
    """A server process: its command, its health URL and its log file."""

    name: str
    argv: List[str]
    health_url: str
    log_path: Path
    env: Dict[str, str] = field(default_factory=dict)
    process: Optional[subprocess.Popen] = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> "Service":
        if self.running:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        environment = {**os.environ, **QUIET_ENV, **self.env}
        self.process = subprocess.Popen(
            self.argv, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # a signal to the test runner does not reach it
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 420.0) -> float:
        """Seconds until the health URL answered; raises if the process died or timed out."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if http_ok(self.health_url):
                return time.monotonic() - started
            if self.process is not None and self.process.poll() is not None:
                raise ServiceError(f"{self.name} exited ({self.process.returncode}); see {self.log_path}")
            time.sleep(0.5)
        raise ServiceError(f"{self.name} did not answer {self.health_url} in {timeout:.0f}s; see {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        """SIGTERM lets Sanic finish the requests in flight; SIGKILL does not."""
        if not self.running:
            return
        assert self.process is not None
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def reachable_address(host: str) -> str:
    """Where this machine reaches a server bound to `host` (any-address binds answer on loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def action_server(port: int, log_path: Path, env: Optional[Dict[str, str]] = None) -> Service:
    return Service(
        name=f"action server :{port}",
        argv=[PYTHON, "-m", "xiaoan.runtime", "run", "actions", "--actions", "actions", "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=log_path,
        env={"SANIC_KEEP_ALIVE_TIMEOUT": ACTION_SERVER_KEEP_ALIVE, **(env or {})},
    )


def rasa_server(
    port: int,
    endpoints: Path,
    log_path: Path,
    auth_token: Optional[str] = None,
    env: Optional[Dict[str, str]] = None,
    credentials: Path = ROOT / "credentials.yml",
    host: str = "127.0.0.1",
) -> Service:
    """Rasa with 小安's processor (`xiaoan.runtime`), REST, socket.io and WeChat, API on."""
    argv = [PYTHON, "-m", "xiaoan.runtime", "run", "--enable-api", "-i", host, "-p", str(port),
            "-m", "models", "--credentials", str(credentials), "--endpoints", str(endpoints)]
    if auth_token:
        argv += ["--auth-token", auth_token]
    defaults = {v: "" for v in ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_ENCODING_AES_KEY",
                                "WECHAT_APP_SECRET", "WECHAT_API_BASE")}
    return Service(
        name=f"rasa :{port}",
        argv=argv,
        # the REST channel's health route: no token needed, answers once the model is loaded
        health_url=f"http://{reachable_address(host)}:{port}/webhooks/rest/",
        log_path=log_path,
        env={**defaults, **{k: v for k, v in os.environ.items() if k in defaults and v}, **(env or {})},
    )


# The same renderer as endpoints.yml: responses with their facts (content/facts.yml) filled in.
NLG_ENDPOINT = "nlg:\n  type: xiaoan.runtime.nlg.FactsNaturalLanguageGenerator\n"


def write_secret(path: Path, value: str) -> Path:
    """A secret in a file only its owner reads (0600 before anything is written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(value, encoding="utf-8")
    return path


def write_endpoints(path: Path, action_port: int, tracker_store: str, lock_store: str = "") -> Path:
    """An endpoints file for a server of this stack (ports and stores differ from the default)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n  enable_selective_domain: true\n\n'
        f"{NLG_ENDPOINT}\n{tracker_store}\n{lock_store}",
        encoding="utf-8",
    )
    return path


def sqlite_tracker_store(db: Path) -> str:
    return (
        "tracker_store:\n  type: xiaoan.runtime.tracker_store.MaskingSQLTrackerStore\n"
        f"  dialect: sqlite\n  db: {db}\n"
    )
