"""The single-machine set-up: action server :5055, Rasa :5005, chat page :8080, supervised.

    .venv/bin/python -m ops.local                  # `make run`: start, say how to talk to it, Ctrl-C stops
    .venv/bin/python -m ops.local -- CMD [ARGS]    # start, run CMD against the servers, stop everything

The servers run under supervisord (`ops/supervisor_run.py`): one that dies
is started again (the action server's gap is covered by the busy answer),
with back-off if it keeps dying at once, and the health watch restarts one
that stops answering. The terminal shows a person what happens, one line per
message or event; the servers' own logs are JSON lines in var/*.log.

Rasa binds `RASA_HOST` (127.0.0.1 by default). Its HTTP API is on and always
needs a token, loopback included: `RASA_AUTH_TOKEN`, else a random one kept in
`var/supervisor/auth_token` (0600); any address but loopback needs
`RASA_AUTH_TOKEN` set, or the start is refused. WeChat settings come from the
environment; without `WECHAT_TOKEN` each run makes a random token, kept in a
0600 file of its supervisor folder (`var/supervisor/wechat_token`) and given to
a command's environment so the live tests can sign (no token is ever a
constant of the code: the channel refuses everything without one).
The staff console (console/) listens on `CONSOLE_PORT` (8090); every process
shares the hand-over store (`XIAOAN_HANDOVER_URL`, by default the back office's
database). `XIAOAN_MODELS` runs another model folder than models/.
Ports: `RASA_PORT` (5005), `ACTION_PORT` (5055), `WEB_PORT` (8080);
`XIAOAN_RUN_DIR` puts the logs, the supervisor's files and (with it) the
conversations somewhere other than var/ (the fault tests run a second set).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import yaml

from ops.services import PYTHON, ROOT, ServiceError, reachable_address, write_secret
from ops.display import TerminalDisplay
from ops.foreground import ignore_signals, run_in_foreground, stop_on_signals
from ops.supervisor_config import Program
from ops.supervisor_run import Supervisor
from xiaoan.identity.seal import key_env
from xiaoan.identity.tokens import secret_env, sign

LOOPBACK = ("127.", "localhost", "::1")
DEFAULT_ACTION_PORT = 5055
WECHAT_VARIABLES = ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_ENCODING_AES_KEY", "WECHAT_APP_SECRET", "WECHAT_API_BASE")


def api_exposure_problem(host: str, token: Optional[str]) -> Optional[str]:
    """Why this host/token pair must not start, or None."""
    if host.startswith(LOOPBACK) or token:
        return None
    return f"Refusing to expose Rasa's HTTP API on {host} without a token: set RASA_AUTH_TOKEN."


def port(variable: str, default: int) -> int:
    raw = os.environ.get(variable) or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SystemExit(f"{variable} must be a port number, not {raw!r}")
    return int(raw)


class LocalSet:
    """Where `make run`'s servers listen, log and keep their supervisor's files."""

    def __init__(self, log_suffix: str = "") -> None:
        self.host = os.environ.get("RASA_HOST", "127.0.0.1")
        self.token = os.environ.get("RASA_AUTH_TOKEN") or None
        self.rasa_port = port("RASA_PORT", 5005)
        self.action_port = port("ACTION_PORT", DEFAULT_ACTION_PORT)
        self.web_port = port("WEB_PORT", 8080)
        self.console_port = port("CONSOLE_PORT", 8090)
        custom = os.environ.get("XIAOAN_RUN_DIR")
        self.var = Path(custom).resolve() if custom else ROOT / "var"
        self.own_folder = bool(custom)
        self.work = self.var / ("supervisor" + log_suffix)
        self.log_suffix = log_suffix
        self._wechat_token: Optional[str] = None

    def token_file(self) -> Path:
        """The HTTP API's token in a 0600 file: RASA_AUTH_TOKEN if set, else the one made for an earlier run, else
        a new random one."""
        path = self.work / "auth_token"
        path.parent.mkdir(parents=True, exist_ok=True)
        token = self.token or (path.read_text(encoding="utf-8").strip() if path.exists() else "") \
            or secrets.token_urlsafe(24)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(token, encoding="utf-8")
        self.token = token
        return path

    @property
    def rasa_url(self) -> str:
        return f"http://{reachable_address(self.host)}:{self.rasa_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def handover_env(self) -> dict:
        """The shared hand-over store (queue, staff, sessions), the same for every process (xiaoan/handover);
        the staff hours and the waiting rule's limit may be overridden (XIAOAN_STAFF_HOURS,
        XIAOAN_HANDOVER_WAIT_LIMIT: a test set-up's)."""
        url = os.environ.get("XIAOAN_HANDOVER_URL") or (
            f"sqlite:///{self.var / 'backoffice.db'}" if self.own_folder else "")
        env = {"XIAOAN_HANDOVER_URL": url} if url else {}
        for name in ("XIAOAN_STAFF_HOURS", "XIAOAN_HANDOVER_WAIT_LIMIT"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        return env

    def identity_env(self) -> dict:
        """The identity secret (xiaoan.identity.tokens): the environment's, else a demo secret made once in
        the run folder (0600) so that `make run` can print a signed-in demo link. A bank sets its own."""
        return secret_env(self.var)

    def ingress_env(self) -> dict:
        """The ingress key (xiaoan/identity/seal.py) the Rasa server seals identity records with and the action
        server opens them with: the deployment's (`XIAOAN_INGRESS_KEY_FILE`), else one made once in the run
        folder (0600; var/ingress_key, the one `make shell` finds by default)."""
        return key_env(self.var)

    def demo_link(self, subject: Optional[str]) -> str:
        """The chat page, signed in as `subject` (a token in the URL's fragment, never sent to the page server)."""
        if subject is None:
            return f"{self.web_url}/"
        key = os.environ.get("XIAOAN_IDENTITY_SECRET")
        if not key:
            secret_file = os.environ.get("XIAOAN_IDENTITY_SECRET_FILE") or self.identity_env()["XIAOAN_IDENTITY_SECRET_FILE"]
            key = Path(secret_file).read_text(encoding="utf-8").strip()
        return f"{self.web_url}/#identity={sign(subject, key)}"

    @property
    def wechat_token_file(self) -> Path:
        return self.work / "wechat_token"

    @property
    def wechat_token(self) -> str:
        """`WECHAT_TOKEN`, else a random one for this run, in a 0600 file (a test or a person signs with it)."""
        if self._wechat_token is None:
            self._wechat_token = os.environ.get("WECHAT_TOKEN") or None
        if self._wechat_token is None:  # the deployment's own token is never copied to disk
            self._wechat_token = secrets.token_urlsafe(32)
            write_secret(self.wechat_token_file, self._wechat_token)
        return self._wechat_token

    def log(self, name: str) -> Path:
        return self.var / f"{name}{self.log_suffix}.log"

    def endpoints(self) -> Path:
        """endpoints.yml itself, or a copy for another action port or run folder."""
        if self.action_port == DEFAULT_ACTION_PORT and not self.own_folder:
            return ROOT / "endpoints.yml"
        config = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
        config["action_endpoint"]["url"] = f"http://127.0.0.1:{self.action_port}/webhook"
        if self.own_folder and (config.get("tracker_store") or {}).get("dialect") == "sqlite":
            config["tracker_store"]["db"] = str(self.var / "tracker.db")
        path = self.work / "endpoints.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    def programs(self) -> List[Program]:
        self.work.mkdir(parents=True, exist_ok=True)
        rasa_env = {name: os.environ.get(name, "") for name in WECHAT_VARIABLES}
        rasa_env["WECHAT_TOKEN"] = self.wechat_token
        rasa_env["WEB_PORT"] = str(self.web_port)
        rasa_env.update(self.handover_env())
        rasa_env.update(self.identity_env())
        rasa_env.update(self.ingress_env())
        # The HTTP API always needs a token, loopback included (any local process or a DNS-rebinding page
        # reaches loopback): RASA_AUTH_TOKEN, else a random one kept in a 0600 file, never on a command line.
        rasa_env["XIAOAN_AUTH_TOKEN_FILE"] = str(self.token_file())
        actions_env = {"SANIC_HOST": "127.0.0.1", "SANIC_KEEP_ALIVE_TIMEOUT": "75"}
        if self.own_folder:
            actions_env["XIAOAN_BACKOFFICE_URL"] = f"sqlite:///{self.var / 'backoffice.db'}"
        actions_env.update(self.handover_env())
        actions_env.update(self.ingress_env())
        rasa = f"http://127.0.0.1:{self.rasa_port}" if reachable_address(self.host) == "127.0.0.1" else self.rasa_url
        programs = [
            Program(
                name="actions", label=f"actions :{self.action_port}",
                argv=[PYTHON, "-m", "xiaoan.runtime", "run", "actions", "--actions", "actions",
                      "--port", str(self.action_port)],
                log=self.log("actions"), env=actions_env, port=self.action_port,
                live_url=f"http://127.0.0.1:{self.action_port}/health/live",
                ready_url=f"http://127.0.0.1:{self.action_port}/health/ready",
                startsecs=5, priority=100, startup_grace_s=60.0,
            ),
            Program(
                name="rasa", label=f"Rasa :{self.rasa_port}",
                argv=[PYTHON, "-m", "xiaoan.runtime", "run", "--enable-api", "-i", self.host, "-p", str(self.rasa_port),
                      "-m", os.environ.get("XIAOAN_MODELS") or "models", "--credentials", "credentials.yml", "--endpoints", str(self.endpoints())],
                log=self.log("rasa"), env=rasa_env, port=self.rasa_port,
                live_url=f"{rasa}/health/live", ready_url=f"{rasa}/health/ready",
                startsecs=10, priority=200, startup_grace_s=300.0,
            ),
            Program(
                name="web", label=f"chat page :{self.web_port}", argv=[PYTHON, "web/serve.py"],
                log=self.log("web"), env={"WEB_PORT": str(self.web_port), "RASA_URL": self.rasa_url}, port=self.web_port,
                live_url=f"{self.web_url}/health/live", startsecs=2, stopwaitsecs=10, priority=300,
                startup_grace_s=30.0,
            ),
            Program(
                name="console", label=f"staff console :{self.console_port}", argv=[PYTHON, "-m", "console"],
                log=self.log("console"), port=self.console_port,
                env={"CONSOLE_PORT": str(self.console_port), "RASA_URL": rasa, "XIAOAN_ENDPOINTS": str(self.endpoints()),
                     **{k: v for k, v in rasa_env.items() if k.startswith("XIAOAN_")},
                     **({"XIAOAN_BACKOFFICE_URL": actions_env["XIAOAN_BACKOFFICE_URL"]}
                        if "XIAOAN_BACKOFFICE_URL" in actions_env else {})},
                live_url=f"{self.console_url}/health/live", startsecs=2, stopwaitsecs=10, priority=300,
                startup_grace_s=30.0,
            ),
        ]
        watch = self.work / "healthwatch.json"
        watch.write_text(json.dumps({"work": str(self.work), "interval_s": 2, "unresponsive_s": 30,
                                     "programs": [p.watch() for p in programs], "nginx": None}), encoding="utf-8")
        programs.append(Program(
            name="healthwatch", label="health watch", argv=[PYTHON, "-m", "ops.healthwatch", str(watch)],
            log=self.log("healthwatch"), startsecs=2, stopwaitsecs=5, priority=900,
        ))
        return programs


def banner(servers: LocalSet, display: TerminalDisplay) -> str:
    host, rasa_port = servers.host, servers.rasa_port
    return f"""
小安 is up (every process supervised: one that dies is started again).
  REST:   curl -s http://{host}:{rasa_port}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
            -d '{{"sender":"demo","message":"POS机一直提示通讯失败"}}'
  Web:    {servers.demo_link(None)}   (chat page, as an anonymous visitor: explanations, no record details)
          {servers.demo_link("C0001")}
                  (signed in as the demo customer C0001: cards 1234 5678 9012 3456 7890, its transactions)
          {servers.demo_link("M0001")}
                  (signed in as the demo merchant M0001: terminals 10000001-10000004)
          The demo links are signed with {'XIAOAN_IDENTITY_SECRET' if os.environ.get('XIAOAN_IDENTITY_SECRET') else 'the demo secret in ' + str(servers.var / 'identity_secret')}
          and expire in 8 hours; a bank signs its own (README, "Identity").
  Staff:  {servers.console_url}/   (staff console; first account: make staff-user NAME=<name> ROLE=supervisor,
          password from STAFF_PASSWORD or asked for; no account exists until one is made)
  WeChat: http://{host}:{rasa_port}/webhooks/wechat/webhook   (token: {'WECHAT_TOKEN' if os.environ.get('WECHAT_TOKEN') else "this run's random one in " + str(servers.wechat_token_file) + '; a real account sets WECHAT_TOKEN'})
  API:    http://{host}:{rasa_port}/conversations/<id>/tracker?token=…   (Rasa's HTTP API: the token is in
          {servers.work / 'auth_token'}, readable by this user only)
  Shell:  make shell        (in another terminal)
  Health: {servers.rasa_url}/health/live, /health/ready   Metrics: {servers.rasa_url}/metrics
  Logs:   {servers.log('rasa')}, {servers.log('actions')}, {servers.log('web')} (JSON lines)

{display.status_table()}

Ctrl-C stops everything. Each message and every event, as it happens:"""


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs=argparse.REMAINDER, help="run this against the servers, then stop")
    args = parser.parse_args(argv)
    command = [part for part in args.command if part != "--"] if args.command else []
    host = os.environ.get("RASA_HOST", "127.0.0.1")
    problem = api_exposure_problem(host, os.environ.get("RASA_AUTH_TOKEN") or None)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    servers = LocalSet("-test" if command else "")
    supervisor = Supervisor(servers.work, servers.programs(), name="xiaoan-run")
    print("Starting 小安 …", flush=True)
    stop_on_signals()
    try:
        supervisor.start()
        supervisor.wait_ready()
    except (KeyboardInterrupt, ServiceError) as problem_starting:
        ignore_signals()
        if isinstance(problem_starting, ServiceError):
            print(problem_starting, file=sys.stderr)
        supervisor.stop()
        return 1
    if command:
        try:
            environment = {**os.environ, "RASA_AUTH_TOKEN": servers.token or "", "RASA_URL": servers.rasa_url, "WEB_URL": servers.web_url,
                           "CONSOLE_URL": servers.console_url, "RASA_LOG": str(servers.log("rasa")),
                           "WECHAT_TOKEN": servers.wechat_token,  # the servers' token: the live tests sign with it
                           "ACTIONS_LOG": str(servers.log("actions")), **servers.handover_env(),
                           **servers.identity_env()}
            return subprocess.call(command, cwd=ROOT, env=environment)
        except KeyboardInterrupt:
            return 1
        finally:
            ignore_signals()
            leftovers = supervisor.stop()
            if leftovers:
                print("killed what did not stop: " + ", ".join(leftovers), file=sys.stderr)
    display = TerminalDisplay(supervisor, show_messages=True)
    return run_in_foreground(supervisor, lambda: banner(servers, display), display,
                             "小安 stopped; nothing left running.")


if __name__ == "__main__":
    raise SystemExit(main())
