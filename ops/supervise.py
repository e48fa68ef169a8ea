"""小安's processes under supervisor (PyPI ``supervisor``): how `make run` and `make scale` run them.

`ops/local.py` and `ops/scale.py` describe their servers as `Program`s; a
`Supervisor` writes a supervisord configuration for them into its work
folder, runs ``supervisord`` in the foreground (as a child of the command a
person started, in its own session) and talks to it over its UNIX socket
(XML-RPC, mode 0700).

What supervisord does for every program:

* **restart on failure**: ``autorestart=true``: a process that exits, for any
  reason other than a stop request, is started again at once;
* **back-off**: a process that dies within ``startsecs`` of its start counts
  as a failed start and is retried after 1, 2, 3 … s, ``startretries`` times,
  then left FATAL (the console says so, and readiness alerts fire) instead of
  looping;
* **stop**: SIGTERM to the process group (``stopasgroup``; Sanic finishes
  the requests in flight), SIGKILL to the group after ``stopwaitsecs``
  (``killasgroup``); shutdown stops the programs in reverse priority order
  (health watch, nginx, chat page, Rasa, action server).

The health watch (`ops/healthwatch.py`, itself a supervised program) adds
what supervisord cannot see: a process that runs but no longer answers its
liveness URL is restarted, and nginx's upstreams follow readiness.

`Console` is the person's view in the terminal: processes starting,
dying, coming back, ready or not, and warnings from the JSON logs, one
readable line each. `stop()` leaves nothing: it checks that every process id
the supervisor ever reported is gone, and kills any that is not.
"""
from __future__ import annotations

import calendar
import ctypes
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterable, List, Optional, Set, TextIO

from ops.services import PYTHON, QUIET_ENV, ROOT, ServiceError

SUPERVISORD = str(Path(PYTHON).parent / "supervisord")
PR_SET_PDEATHSIG = 1
# A supervisor whose owner holds the folder and answers RUNNING this long is running, not stopping.
STILL_RUNNING_S = 2.0
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


def http_status(url: str, timeout: float = 2.0) -> Optional[int]:
    """The HTTP status of a GET, or None if nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError, ValueError):
        return None


def http_json(url: str, timeout: float = 2.0) -> "tuple[Optional[int], Dict[str, Any]]":
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"{}")
        except ValueError:
            return error.code, {}
    except (urllib.error.URLError, OSError, ValueError):
        return None, {}


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_groups_alive(groups: Iterable[int]) -> Dict[int, List[int]]:
    """{process group: [pids]} of the given groups that still have a process (children included)."""
    wanted = set(groups)
    alive: Dict[int, List[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        state, group = fields[0], int(fields[2])  # after "(comm)": state, ppid, pgrp
        if group in wanted and state != "Z":
            alive.setdefault(group, []).append(int(entry.name))
    return alive


def _die_with_parent() -> None:
    """In the supervisord child: SIGTERM when the command that started it dies (no orphaned servers)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def _config_value(value: str) -> str:
    if "\n" in value:
        raise ValueError(f"a supervisor setting cannot hold a new line: {value!r}")
    return value.replace("%", "%%")


class Supervisor:
    """supervisord for a list of programs, in a work folder: config, socket, pid file, its log."""

    def __init__(self, work: Path, programs: List[Program], name: str = "xiaoan") -> None:
        self.work = work
        self.programs = {program.name: program for program in programs}
        self.name = name
        self.conf = work / "supervisord.conf"
        self.socket = work / "supervisor.sock"
        self.pidfile = work / "supervisord.pid"
        self.log = work / "supervisord.log"
        self.lock = work / "supervisor.lock"
        self.process: Optional[subprocess.Popen] = None
        self._folder: Optional[IO[str]] = None  # the flock held from start() to the end of stop()
        self.seen_pids: Dict[str, Set[int]] = {}

    # ---------------------------------------------------------------- configuration

    def env_file(self, program: Program) -> Path:
        return self.work / "env" / f"{program.name}.json"

    def render(self) -> str:
        lines = [
            "; written by ops/supervise.py: edit the Program descriptions in ops/, not this file",
            "[unix_http_server]", f"file={_config_value(str(self.socket))}", "chmod=0700", "",
            "[supervisord]", "nodaemon=true", "silent=true", f"logfile={_config_value(str(self.log))}",
            "logfile_maxbytes=10MB", "logfile_backups=3", "loglevel=info",
            f"pidfile={_config_value(str(self.pidfile))}", f"childlogdir={_config_value(str(self.work))}",
            f"identifier={self.name}", "",
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
                "redirect_stderr=true",
                f"stdout_logfile={_config_value(str(program.log))}",
                "stdout_logfile_maxbytes=50MB", "stdout_logfile_backups=5",
                "",
            ]
        return "\n".join(lines)

    def write(self) -> None:
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

    # ---------------------------------------------------------------- control

    def rpc(self) -> Any:
        from supervisor.xmlrpc import SupervisorTransport

        return xmlrpc.client.ServerProxy(
            "http://127.0.0.1", transport=SupervisorTransport(None, None, f"unix://{self.socket}")
        )

    def answering(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return self.rpc().supervisor.getState()["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Error):
            return False

    def check_ports(self) -> None:
        busy = [f"{p.label} (port {p.port})" for p in self.programs.values() if p.port and port_in_use(p.port)]
        if busy:
            raise ServiceError("ports already in use, another server runs there: " + ", ".join(busy))

    def start(self, timeout: float = 30.0, previous_stop_timeout: float = 120.0) -> "Supervisor":
        """Starts supervisord; first waits for one still stopping in this folder (`make run` stopped and started
        again at once), refuses if one runs."""
        self._claim_folder(previous_stop_timeout)
        try:
            if self.answering():
                raise self._already_running()
            self._wait_for_previous_supervisord(previous_stop_timeout)
            self.check_ports()
        except BaseException:
            self._release_folder()
            raise
        self.socket.unlink(missing_ok=True)
        self.write()
        environment = {**os.environ, **QUIET_ENV}
        supervisor_log = open(self.work / "supervisord.out", "ab")
        self.process = subprocess.Popen(
            [SUPERVISORD, "-c", str(self.conf)], cwd=ROOT, env=environment,
            stdout=supervisor_log, stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C reaches the command a person started, which stops this in order
            preexec_fn=_die_with_parent,
        )
        supervisor_log.close()
        deadline = time.monotonic() + timeout
        while not self.answering():
            if self.process.poll() is not None:
                raise ServiceError(f"supervisord exited ({self.process.returncode}); see {self.work / 'supervisord.out'}")
            if time.monotonic() > deadline:
                raise ServiceError(f"supervisord did not answer in {timeout:.0f}s; see {self.log}")
            time.sleep(0.2)
        self.infos()
        return self

    def infos(self) -> Dict[str, Dict[str, Any]]:
        found = {info["name"]: info for info in self.rpc().supervisor.getAllProcessInfo()}
        for name, info in found.items():
            if info.get("pid"):
                self.seen_pids.setdefault(name, set()).add(int(info["pid"]))
        return found

    def info(self, name: str) -> Dict[str, Any]:
        info = self.rpc().supervisor.getProcessInfo(name)
        if info.get("pid"):
            self.seen_pids.setdefault(name, set()).add(int(info["pid"]))
        return info

    def pid(self, name: str) -> int:
        return int(self.info(name)["pid"])

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Sends `sig` to the program's process itself (as ``kill -9 PID`` would); returns its pid."""
        pid = self.pid(name)
        if not pid:
            raise ServiceError(f"{name} is not running")
        os.kill(pid, sig)
        return pid

    def is_ready(self, name: str, timeout: float = 3.0) -> bool:
        program = self.programs[name]
        url = program.ready_url or program.live_url
        return url is None or http_status(url, timeout) == 200

    def wait_ready(self, names: Optional[Iterable[str]] = None, timeout: float = 420.0,
                   old_pids: Optional[Dict[str, int]] = None) -> Dict[str, float]:
        """Seconds until each program ran (with a pid other than `old_pids`) and was ready."""
        waiting = list(names if names is not None else self.programs)
        started = time.monotonic()
        took: Dict[str, float] = {}
        while waiting:
            infos = self.infos()
            for name in list(waiting):
                info = infos.get(name, {})
                if info.get("statename") == "FATAL":
                    raise ServiceError(f"{self.programs[name].label} could not start; see {self.programs[name].log}")
                new_process = info.get("pid") and info.get("pid") != (old_pids or {}).get(name)
                if info.get("statename") in ("RUNNING", "STARTING") and new_process and self.is_ready(name):
                    took[name] = time.monotonic() - started
                    waiting.remove(name)
            if waiting and time.monotonic() - started > timeout:
                labels = ", ".join(self.programs[n].label for n in waiting)
                raise ServiceError(f"not ready within {timeout:.0f}s: {labels}; logs in {self.work}")
            if waiting:
                time.sleep(0.5)
        return took

    def stop(self, timeout: Optional[float] = None) -> List[str]:
        """Stops everything in order; returns what had to be killed afterwards (empty: nothing was left)."""
        if self.process is None:  # never started here: another command's supervisor is not ours to stop
            self._release_folder()
            return []
        limit = timeout or max([p.stopwaitsecs for p in self.programs.values()] + [10]) + 20
        if self.answering():
            try:
                self.infos()
                self.rpc().supervisor.shutdown()
            except (OSError, xmlrpc.client.Error):
                pass
        try:
            self.process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        leftovers = self.left_running()
        for group in {group for group, _ in leftovers}:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.socket.unlink(missing_ok=True)  # still ours: nobody else starts here before _release_folder()
        self._release_folder()
        return [f"{name} (pid {pid})" for (_, pid), name in zip(leftovers, self._names(leftovers))]

    # ---------------------------------------------------------------- one supervisord per folder at a time

    def _claim_folder(self, timeout: float) -> None:
        """Holds an exclusive lock on the work folder from start() until stop() has finished.

        Why: the socket and pid file have fixed names (supervisorctl and the health watch find them
        there), and supervisord unlinks both when it exits, whoever made them; so does stop().
        If a new supervisord started while the old one was still stopping, the old one's exit would
        remove the new one's socket (`make run` restarted at once died with FileNotFoundError).
        With the lock a start waits until the previous stop() is over. The kernel releases it if
        its owner dies, so a killed `make run` never blocks the folder (its supervisord then gets
        SIGTERM and stops by itself: _wait_for_previous_supervisord() waits for that).
        """
        self.work.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock, "a", encoding="utf-8")
        deadline = time.monotonic() + timeout
        running_since: Optional[float] = None
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._folder = handle
                return
            except BlockingIOError:
                pass
            # another supervisor owns the folder: running (refuse) or stopping (wait for it)
            if self.answering():
                running_since = running_since or time.monotonic()
                if time.monotonic() - running_since > STILL_RUNNING_S:
                    handle.close()
                    raise self._already_running()
            else:
                running_since = None
            if time.monotonic() > deadline:
                handle.close()
                raise ServiceError(f"the supervisor in {self.work} was still stopping after {timeout:.0f}s")
            time.sleep(0.2)

    def _already_running(self) -> ServiceError:
        return ServiceError(f"a supervisor is already running in {self.work} (pid file {self.pidfile}); "
                            "stop it first (Ctrl-C in its terminal)")

    def _release_folder(self) -> None:
        if self._folder is not None:
            self._folder.close()  # closing the file releases the flock
            self._folder = None

    def _wait_for_previous_supervisord(self, timeout: float) -> None:
        """Waits for a supervisord of this folder whose owner died: it is stopping its programs (SIGTERM
        from the parent-death signal) and removes the socket and pid file when it exits."""
        try:
            pid = int(self.pidfile.read_text().strip())
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return  # no pid file, or its process is gone
        if not any(part.endswith(b"supervisord") for part in command) or str(self.conf).encode() not in command:
            return  # the pid now belongs to another program
        deadline = time.monotonic() + timeout
        while process_groups_alive([pid]):  # it leads its own group (its own session)
            if time.monotonic() > deadline:
                raise ServiceError(f"supervisord (pid {pid}) in {self.work} was still stopping after {timeout:.0f}s")
            time.sleep(0.2)

    def left_running(self) -> List["tuple[int, int]"]:
        """(process group, pid) of every process still alive in a group a program ever led.

        supervisord makes each program the leader of its own process group, so this
        finds the program's children too (nginx's workers, for instance).
        """
        groups = {pid for pids in self.seen_pids.values() for pid in pids}
        if self.process is not None:
            groups.add(self.process.pid)
        return [(group, pid) for group, pids in process_groups_alive(groups).items() for pid in pids]

    def _names(self, leftovers: List["tuple[int, int]"]) -> List[str]:
        by_group = {pid: name for name, pids in self.seen_pids.items() for pid in pids}
        return [by_group.get(group, "supervisord") for group, _ in leftovers]


# -------------------------------------------------------------------- the person's view

SUPERVISOR_LINE = re.compile(r"^\S+ (\d\d:\d\d:\d\d),\d+ (\w+) (.*)$")


class LogTail:
    """New lines of a file since the last read (a rotated or truncated file is read from its start)."""

    def __init__(self, path: Path, from_end: bool = True) -> None:
        self.path = path
        self.offset = path.stat().st_size if from_end and path.exists() else 0
        self._partial = ""

    def lines(self) -> List[str]:
        if not self.path.exists():
            return []
        size = self.path.stat().st_size
        if size < self.offset:
            self.offset = 0
        if size == self.offset:
            return []
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            handle.seek(self.offset)
            text = handle.read()
            self.offset = handle.tell()
        text = self._partial + text
        lines = text.split("\n")
        self._partial = lines.pop()
        return lines


def local_time(ts: Optional[str]) -> str:
    if not ts:
        return time.strftime("%H:%M:%S")
    try:
        parsed = time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")
        return time.strftime("%H:%M:%S", time.localtime(calendar.timegm(parsed)))
    except ValueError:
        return ts[11:19]


def readable(event: Dict[str, Any]) -> Optional[str]:
    """One JSON log event as words for a person, or None if it is not worth a line."""
    name = event.get("event")
    level = event.get("level", "info")
    if name == "message.handled":
        ms = event.get("duration_ms")
        parts = [f"conversation {event.get('conversation_id')}", str(event.get("channel")),
                 str(event.get("intent") or "-"), str(event.get("outcome"))]
        if event.get("busy_actions"):
            parts.append("failed: " + ", ".join(event["busy_actions"]))
        return "  ".join(parts) + (f"  {ms:.0f} ms" if isinstance(ms, (int, float)) else "")
    if name == "readiness.changed":
        return "ready" if event.get("ready") else "not ready: " + ", ".join(event.get("failing") or [])
    if name == "routing.changed":
        return str(event.get("summary"))
    if name == "process.unresponsive":
        return f"{event.get('label')} did not answer for {event.get('seconds')} s: restarted"
    if level in ("warning", "error", "critical"):
        text = event.get("message") or name or ""
        first = str(text).strip().splitlines()[0] if str(text).strip() else str(name)
        return f"{level}: {first[:300]}"
    return None


def supervisor_readable(line: str, labels: Dict[str, str], logs: Dict[str, Path]) -> Optional[str]:
    match = SUPERVISOR_LINE.match(line)
    if not match:
        return None
    text = match.group(3)
    for name, label in labels.items():
        if f"exited: {name} " in text:
            reason = text.split("(", 1)[-1].rstrip(")").replace("; not expected", "")
            return f"{label} stopped unexpectedly ({reason}): supervisor starts it again"
        if f"spawned: '{name}'" in text:
            return f"{label} started ({text.split('with ', 1)[-1]})"
        if f"gave up: {name} " in text:
            return f"{label} failed to start too often: supervisor gave up; see {logs[name]}"
    return None


class Console:
    """Prints, for a person, what happens to the processes (and their warnings) as it happens."""

    def __init__(self, supervisor: Supervisor, show_messages: bool = False, out: TextIO = sys.stdout) -> None:
        self.supervisor = supervisor
        self.show_messages = show_messages
        self.out = out
        self.labels = {name: p.label for name, p in supervisor.programs.items()}
        self.logs = {name: p.log for name, p in supervisor.programs.items()}
        self.tails = {name: LogTail(p.log) for name, p in supervisor.programs.items()}
        self.supervisor_tail = LogTail(supervisor.log)
        self.live: Dict[str, Optional[bool]] = {}
        self.ready: Dict[str, Optional[bool]] = {}
        self._next_probe = 0.0

    def say(self, label: str, text: str, when: Optional[str] = None) -> None:
        print(f"{when or time.strftime('%H:%M:%S')}  {label:<16} {text}", file=self.out, flush=True)

    def status_table(self) -> str:
        rows = [f"  {'process':<16} {'pid':>7}  {'state':<9} {'live':<5} ready"]
        infos = self.supervisor.infos()
        for name, program in self.supervisor.programs.items():
            info = infos.get(name, {})
            live = "-" if not program.live_url else ("yes" if http_status(program.live_url) == 200 else "no")
            ready = "-" if not program.ready_url else ("yes" if http_status(program.ready_url) == 200 else "no")
            rows.append(f"  {program.label:<16} {info.get('pid') or '':>7}  {info.get('statename', '?'):<9} "
                        f"{live:<5} {ready}")
        return "\n".join(rows)

    def poll(self) -> None:
        for line in self.supervisor_tail.lines():
            text = supervisor_readable(line, self.labels, self.logs)
            if text:
                match = SUPERVISOR_LINE.match(line)
                self.say("supervisor", text, match.group(1) if match else None)
        for name, tail in self.tails.items():
            for line in tail.lines():
                self._log_line(name, line)
        if time.monotonic() >= self._next_probe:
            self._next_probe = time.monotonic() + 2.0
            self._probe()

    def _log_line(self, name: str, line: str) -> None:
        if not line.strip():
            return
        try:
            event = json.loads(line)
        except ValueError:
            self.say(self.labels[name], line.rstrip()[:300])  # not a log record: a crash on the way up
            return
        if not isinstance(event, dict):
            return
        if event.get("event") in ("message.handled", "action.served") and not self.show_messages \
                and event.get("level") == "info":
            return
        if event.get("event") in ("readiness.changed", "readiness.check_changed"):
            return  # the probe below reports readiness, from outside, with what fails
        text = readable(event)
        if text:
            self.say(self.labels[name], text, local_time(event.get("ts")))

    def _probe(self) -> None:
        for name, program in self.supervisor.programs.items():
            if program.live_url:
                live = http_status(program.live_url, 2.0) == 200
                if self.live.get(name) is not None and live != self.live[name]:
                    self.say(program.label, "answers again (live)" if live else "does not answer (not live)")
                self.live[name] = live
            if program.ready_url:
                status, body = http_json(program.ready_url, 2.0)
                ready = status == 200
                if self.ready.get(name) is not None and ready != self.ready[name]:
                    failing = [k for k, v in (body.get("checks") or {}).items() if not v.get("ok")]
                    detail = ", ".join(f"{k} ({body['checks'][k].get('detail')})" for k in failing)
                    self.say(program.label, "ready" if ready else f"not ready: {detail or 'no answer'}")
                self.ready[name] = ready


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Ctrl-C (SIGINT), SIGTERM and a closed terminal (SIGHUP) all stop everything in order.

    SIGINT is set explicitly: a command started in the background of a script inherits it ignored.
    """
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)


def ignore_signals() -> None:
    """While stopping: a second Ctrl-C must not orphan a server."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)


def run_in_foreground(supervisor: Supervisor, banner: Callable[[], str], console: Console,
                      stopped_message: str) -> int:
    """Prints the banner, then what happens, until Ctrl-C, SIGTERM or SIGHUP; then stops everything."""
    stop_on_signals()
    try:
        print(banner(), flush=True)
        while True:
            console.poll()
            if supervisor.process is not None and supervisor.process.poll() is not None:
                print("supervisord itself stopped; see " + str(supervisor.log), file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        ignore_signals()
        print("Stopping …", flush=True)
        leftovers = supervisor.stop()
        if leftovers:
            print("killed what did not stop: " + ", ".join(leftovers), file=sys.stderr)
        print(stopped_message, flush=True)
