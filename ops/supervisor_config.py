"""What supervisord runs and how: `Program` descriptions rendered into a supervisord configuration.

`ops/local.py` and `ops/scale.py` describe their servers as `Program`s; a
`SupervisorConfig` writes, into a work folder, the configuration supervisord
reads (and an operator's ``supervisorctl -c`` too) and each program's own
environment in a 0600 file (`ops/exec_env.py` reads it: supervisor's
``environment=`` cannot quote every value).

What the configuration asks of supervisord for every program:

* **restart on failure**: ``autorestart=true``: a process that exits, for any
  reason other than a stop request, is started again at once;
* **back-off**: a process that dies within ``startsecs`` of its start counts
  as a failed start and is retried after 1, 2, 3 … s, ``startretries`` times,
  then left FATAL (the terminal says so, and readiness alerts fire) instead of
  looping;
* **stop**: SIGTERM to the process group (``stopasgroup``; Sanic finishes
  the requests in flight), SIGKILL to the group after ``stopwaitsecs``
  (``killasgroup``); shutdown stops the programs in reverse priority order
  (health watch, nginx, chat page, Rasa, action server);
* **nothing left behind**: the reaper (`ops/reaper.py`) kills what a dead
  program left in its process group.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ops.services import PYTHON, ROOT

# Every supervised process logs JSON lines (xiaoan/runtime/logs.py); libraries' deprecation notes are not logged.
JSON_LOGS = {"XIAOAN_LOG_FORMAT": "json", "PYTHONWARNINGS": "ignore::DeprecationWarning", "PYTHONUNBUFFERED": "1"}


@dataclass
class Program:
    """One supervised process and how to tell that it is alive and ready."""

    name: str                      # supervisor's name, e.g. "rasa-5101"
    label: str                     # for a person, e.g. "Rasa :5101"
    argv: List[str]
    log: Path
    env: Dict[str, str] = field(default_factory=dict)
    live_url: Optional[str] = None
    ready_url: Optional[str] = None
    port: Optional[int] = None     # must be free before the start
    startsecs: int = 5
    startretries: int = 5
    stopsignal: str = "TERM"
    stopwaitsecs: int = 30
    priority: int = 100
    startup_grace_s: float = 120.0  # the health watch restarts it if it is not live by then

    def watch(self) -> Dict[str, Any]:
        """What the health watch needs to know about it."""
        return {"name": self.name, "label": self.label, "live": self.live_url, "ready": self.ready_url,
                "startup_grace_s": self.startup_grace_s}


def socket_path(work: Path) -> Path:
    """supervisord's UNIX socket in a work folder: where every client (the health watch, tests) finds it."""
    return work / "supervisor.sock"


def _config_value(value: str) -> str:
    if "\n" in value:
        raise ValueError(f"a supervisor setting cannot hold a new line: {value!r}")
    return value.replace("%", "%%")


class SupervisorConfig:
    """The files of one supervisord in its work folder: configuration, programs' environments, socket, pid file, log."""

    def __init__(self, work: Path, programs: List[Program], name: str = "xiaoan") -> None:
        self.work = work
        self.programs = {program.name: program for program in programs}
        self.name = name
        self.conf = work / "supervisord.conf"
        self.socket = socket_path(work)
        self.pidfile = work / "supervisord.pid"
        self.log = work / "supervisord.log"

    def env_file(self, program: Program) -> Path:
        return self.work / "env" / f"{program.name}.json"

    def render(self) -> str:
        """The supervisord configuration; refuses a value supervisor could not read back as written."""
        lines = [
            "; written by ops/supervisor_config.py: edit the Program descriptions in ops/, not this file",
            "[unix_http_server]", f"file={_config_value(str(self.socket))}", "chmod=0700", "",
            "[supervisord]", "nodaemon=true", "silent=true", f"logfile={_config_value(str(self.log))}",
            "logfile_maxbytes=10MB", "logfile_backups=3", "loglevel=info",
            f"pidfile={_config_value(str(self.pidfile))}", f"childlogdir={_config_value(str(self.work))}",
            f"identifier={self.name}",
            "; files the processes make (conversations, tickets, logs, keys) are this user's only",
            "umask=077", "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
            "[supervisorctl]", f"serverurl=unix://{_config_value(str(self.socket))}", "",
        ]
        lines += [
            "; a program that dies leaves no child behind (ops/reaper.py)",
            "[eventlistener:reaper]",
            f"command={PYTHON} -m ops.reaper",
            f"directory={_config_value(str(ROOT))}",
            "events=PROCESS_STATE_EXITED,PROCESS_STATE_BACKOFF", "autorestart=true", "startsecs=1", "priority=1",
            "stopasgroup=true", "killasgroup=true",
            f"stderr_logfile={_config_value(str(self.work / 'reaper.log'))}", "",
        ]
        for program in sorted(self.programs.values(), key=lambda p: p.priority):
            command = [PYTHON, "-m", "ops.exec_env", str(self.env_file(program)), "--", *program.argv]
            for part in command:
                if any(c.isspace() or c in "\"'%;" for c in part):
                    raise ValueError(f"{program.name}: a command word supervisor cannot quote safely: {part!r}")
            lines += [
                f"[program:{program.name}]",
                f"command={' '.join(command)}",
                f"directory={_config_value(str(ROOT))}",
                "autostart=true", "autorestart=true",
                f"startsecs={program.startsecs}", f"startretries={program.startretries}",
                f"stopsignal={program.stopsignal}", f"stopwaitsecs={program.stopwaitsecs}",
                "stopasgroup=true", "killasgroup=true",
                f"priority={program.priority}",
                "umask=077",
                "redirect_stderr=true",
                f"stdout_logfile={_config_value(str(program.log))}",
                "stdout_logfile_maxbytes=50MB", "stdout_logfile_backups=5",
                "",
            ]
        return "\n".join(lines)

    def write(self) -> None:
        """The configuration (0600) and each program's environment file (0600, in a 0700 folder)."""
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "env").mkdir(exist_ok=True)
        (self.work / "env").chmod(0o700)
        for program in self.programs.values():
            path = self.env_file(program)
            path.write_text(json.dumps({**JSON_LOGS, "XIAOAN_PROCESS": program.name, **program.env}), encoding="utf-8")
            path.chmod(0o600)
            program.log.parent.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(self.render(), encoding="utf-8")
        self.conf.chmod(0o600)
