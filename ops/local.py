"""The single-machine set-up: action server :5055, Rasa :5005, chat page :8080.

    .venv/bin/python -m ops.local                  # `make run`: start, say how to talk to it, Ctrl-C stops
    .venv/bin/python -m ops.local -- CMD [ARGS]    # start, run CMD against the servers, stop everything

Rasa binds `RASA_HOST` (127.0.0.1 by default). Its HTTP API is on, so any
other address needs `RASA_AUTH_TOKEN`, or the start is refused. WeChat settings
come from the environment (unset: the channel refuses every request); with a
command, `WECHAT_TOKEN` defaults to a test token so the live tests can sign.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from typing import List, Optional

from ops.services import (
    PYTHON,
    ROOT,
    Service,
    ServiceError,
    action_server,
    rasa_server,
    reachable_address,
)

LOOPBACK = ("127.", "localhost", "::1")
LIVE_TEST_WECHAT_TOKEN = "xiaoan-live-test"


def api_exposure_problem(host: str, token: Optional[str]) -> Optional[str]:
    """Why this host/token pair must not start, or None."""
    if host.startswith(LOOPBACK) or token:
        return None
    return f"Refusing to expose Rasa's HTTP API on {host} without a token: set RASA_AUTH_TOKEN."


def local_services(host: str, token: Optional[str], log_suffix: str) -> List[Service]:
    var = ROOT / "var"
    web_port = os.environ.get("WEB_PORT", "8080")
    rasa = rasa_server(5005, ROOT / "endpoints.yml", var / f"rasa{log_suffix}.log", auth_token=token, host=host)
    web = Service(
        name=f"chat page :{web_port}", argv=[PYTHON, "web/serve.py"],
        health_url=f"http://127.0.0.1:{web_port}/", log_path=var / f"web{log_suffix}.log",
    )
    return [action_server(5055, var / f"actions{log_suffix}.log"), rasa, web]


def start_all(services: List[Service]) -> None:
    for service in services:
        service.start()
    for service in services:
        service.wait_ready()


def stop_all(services: List[Service]) -> None:
    for service in reversed(services):
        service.stop()


def banner(host: str) -> str:
    web_port = os.environ.get("WEB_PORT", "8080")
    return f"""
小安 is up.
  REST:   curl -s http://{host}:5005/webhooks/rest/webhook -H 'Content-Type: application/json' \\
            -d '{{"sender":"demo","message":"POS机一直提示通讯失败"}}'
  Web:    http://127.0.0.1:{web_port}/   (chat page)
  WeChat: http://{host}:5005/webhooks/wechat/webhook   (set WECHAT_TOKEN etc.)
  Shell:  make shell        (in another terminal)
  Logs:   var/rasa.log, var/actions.log, var/web.log
  Ctrl-C stops everything."""


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs=argparse.REMAINDER, help="run this against the servers, then stop")
    args = parser.parse_args(argv)
    command = [part for part in args.command if part != "--"] if args.command else []
    host = os.environ.get("RASA_HOST", "127.0.0.1")
    token = os.environ.get("RASA_AUTH_TOKEN") or None
    problem = api_exposure_problem(host, token)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if command:
        os.environ.setdefault("WECHAT_TOKEN", LIVE_TEST_WECHAT_TOKEN)
    (ROOT / "var").mkdir(exist_ok=True)
    services = local_services(host, token, "-test" if command else "")
    stopping: List[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    try:
        print("Starting 小安 …", flush=True)
        start_all(services)
        if command:
            environment = {**os.environ, "RASA_URL": f"http://{reachable_address(host)}:5005",
                           "WEB_URL": services[2].health_url.rstrip("/")}
            return subprocess.call(command, cwd=ROOT, env=environment)
        print(banner(host), flush=True)
        while not stopping and all(service.running for service in services):
            time.sleep(1)
        return 0
    except ServiceError as problem_starting:
        print(problem_starting, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not orphan a server
        stop_all(services)
        if not command:
            print("小安 stopped.")


if __name__ == "__main__":
    raise SystemExit(main())
