"""The health watch: liveness and readiness acted on, beside supervisord.

    python -m ops.healthwatch WORK/healthwatch.json     (a supervised program of make run / make scale)

supervisord restarts a process that exits. It cannot see one that runs but
no longer serves. Every `interval_s` (2 s) this watch asks each program's
``/health/live`` and ``/health/ready`` and

* **liveness → restart**: a program supervisord reports RUNNING, past its
  start-up grace (long enough to load a model), whose liveness has failed
  for `unresponsive_s` (30 s) is restarted through supervisord. Readiness
  never restarts anything: a server that cannot reach PostgreSQL or Redis
  is kept running, out of nginx's rotation, and serves again the moment the
  database answers (a restart would add a model load to the outage);
* **readiness → nginx**: a Rasa server that said it is not ready (503) or
  refused the connection 2 rounds in a row is marked ``down`` in nginx's
  upstreams and nginx reloads (SIGHUP through supervisord); one ready answer
  puts it back. A server that is merely slow to answer (busy with users) is
  left in the rotation: taking busy servers out turns a peak into an outage.
  With no server ready nginx keeps them all (a server that is not ready
  answers 503 at once and nginx tries the next).

Every decision is one JSON log line (``routing.changed``,
``process.unresponsive``) in this program's log.
"""
from __future__ import annotations

import json
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

from ops import nginx
from ops.probes import http_json, http_status
from ops.supervisor_rpc import SupervisorClient

logger = logging.getLogger("xiaoan.healthwatch")

DOWN_AFTER = 2      # readiness failures in a row before nginx stops sending users
PROBE_TIMEOUT_S = 5.0


@dataclass
class Watched:
    name: str
    label: str
    live: Optional[str]
    ready: Optional[str]
    startup_grace_s: float
    failing_since: Optional[float] = None
    not_ready_rounds: int = 0
    last_ready_detail: str = ""


def answers(url: str) -> bool:
    """False only if nothing listens (connection refused): a slow answer is an answer."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=PROBE_TIMEOUT_S):
            return True
    except socket.timeout:
        return True
    except OSError:
        return False


def probe(program: Watched) -> Dict[str, Any]:
    live = http_status(program.live, PROBE_TIMEOUT_S) == 200 if program.live else True
    ready, slow, detail = True, False, ""
    if program.ready:
        status, body = http_json(program.ready, PROBE_TIMEOUT_S)
        ready = status == 200
        if status is None and answers(program.ready):
            slow = True  # busy: neither ready nor not ready this round
        elif not ready:
            failing = [f"{k} ({v.get('detail')})" for k, v in (body.get("checks") or {}).items() if not v.get("ok")]
            detail = ", ".join(failing) or ("not listening" if status is None else f"HTTP {status}")
    return {"live": live, "ready": ready, "slow": slow, "detail": detail}


class HealthWatch:
    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = config
        self.interval = float(config.get("interval_s", 2.0))
        self.unresponsive_s = float(config.get("unresponsive_s", 30.0))
        self.programs = [Watched(p["name"], p["label"], p.get("live"), p.get("ready"), float(p["startup_grace_s"]))
                         for p in config["programs"]]
        self.by_name = {p.name: p for p in self.programs}
        self.supervisor = SupervisorClient.in_folder(Path(config["work"]))
        self.nginx = config.get("nginx")
        self.down: Set[int] = set()
        self.pool = ThreadPoolExecutor(max_workers=max(2, len(self.programs)))

    def log(self, level: int, event: str, **fields: Any) -> None:
        from xiaoan.runtime.logs import log_event

        log_event(logger, level, event, **fields)

    def round(self) -> None:
        try:
            infos = self.supervisor.infos()
        except Exception as error:  # noqa: BLE001 - supervisord restarting or going away: try next round
            self.log(logging.WARNING, "supervisor.unreachable", error=type(error).__name__)
            return
        results = dict(zip([p.name for p in self.programs], self.pool.map(probe, self.programs)))
        now = time.time()
        for program in self.programs:
            result, info = results[program.name], infos.get(program.name, {})
            self._liveness(program, result, info, now)
            if not result["slow"]:
                program.not_ready_rounds = 0 if result["ready"] else program.not_ready_rounds + 1
                program.last_ready_detail = result["detail"]
        if self.nginx:
            self._route()

    def _liveness(self, program: Watched, result: Dict[str, Any], info: Dict[str, Any], now: float) -> None:
        if result["live"] or info.get("statename") != "RUNNING":
            program.failing_since = None
            return
        if program.failing_since is None:
            program.failing_since = now
        uptime = float(info.get("now", now)) - float(info.get("start", now))
        silent = now - program.failing_since
        if uptime > program.startup_grace_s and silent >= self.unresponsive_s:
            self.log(logging.ERROR, "process.unresponsive", program=program.name, label=program.label,
                     pid=info.get("pid"), seconds=round(silent), action="restart")
            try:
                rpc = self.supervisor.rpc()
                rpc.supervisor.stopProcess(program.name, True)
                rpc.supervisor.startProcess(program.name, False)
            except Exception as error:  # noqa: BLE001 - logged; next round tries again
                self.log(logging.ERROR, "process.restart_failed", program=program.name, error=type(error).__name__)
            program.failing_since = None

    def _route(self) -> None:
        servers = self.nginx["servers"]
        down = {s["port"] for s in servers if self.by_name[s["program"]].not_ready_rounds >= DOWN_AFTER}
        if len(down) == len(servers):
            down = set()  # nobody ready: nginx tries them all
        if down == self.down:
            return
        nginx.render(Path(self.nginx["work"]), int(self.nginx["listen"]), [s["port"] for s in servers], down)
        try:
            self.supervisor.rpc().supervisor.signalProcess(self.nginx["program"], "HUP")
        except Exception as error:  # noqa: BLE001 - nginx restarting: it reads the new file when it starts
            self.log(logging.WARNING, "routing.reload_failed", error=type(error).__name__)
        serving = [s for s in servers if s["port"] not in down]
        left_out = [f"{self.by_name[s['program']].label} ({self.by_name[s['program']].last_ready_detail})"
                    for s in servers if s["port"] in down]
        summary = "nginx sends users to " + ", ".join(self.by_name[s["program"]].label for s in serving)
        if left_out:
            summary += "; not to " + ", ".join(left_out)
        self.log(logging.WARNING if down else logging.INFO, "routing.changed", summary=summary,
                 serving=[s["port"] for s in serving], down=sorted(down))
        self.down = down

    def run(self) -> None:
        self.log(logging.INFO, "healthwatch.started", programs=[p.name for p in self.programs],
                 routes_nginx=bool(self.nginx))
        while True:
            started = time.monotonic()
            self.round()
            time.sleep(max(0.2, self.interval - (time.monotonic() - started)))


def main(argv: List[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    from xiaoan.runtime.logs import use_json_logging

    use_json_logging("INFO")
    HealthWatch(json.loads(Path(argv[0]).read_text(encoding="utf-8"))).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
