"""The person's view in the terminal of `make run` and `make scale`: what happens to the processes.

Processes starting, dying, coming back, ready or not, and warnings from the
JSON logs, one readable line each; the status table of the banner. Read from
supervisord's log, the programs' logs (ops/log_tail.py) and the health URLs
(ops/probes.py), never from inside a process.
"""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, TextIO

from ops.log_tail import LogTail
from ops.probes import http_json, http_status
from ops.supervisor_run import Supervisor
from xiaoan import clock

SUPERVISOR_LINE = re.compile(r"^\S+ (\d\d:\d\d:\d\d),\d+ (\w+) (.*)$")


def china_clock_time(ts: Optional[str] = None) -> str:
    """A log record's UTC time stamp (now, without one) as the China clock time a person reads next to it."""
    try:
        return clock.to_china(ts.replace("Z", "+00:00") if ts else clock.timestamp()).strftime("%H:%M:%S")
    except ValueError:
        return ts[11:19] if ts else ""


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
    """A line of supervisord's own log (a start, an unexpected exit, giving up) as words, or None."""
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


class TerminalDisplay:
    """Prints, for a person, what happens to the processes (and their warnings) as it happens.

    Not the staff web console (console/server.py): this is `make run`'s and `make scale`'s terminal.
    """

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
        print(f"{when or china_clock_time()}  {label:<16} {text}", file=self.out, flush=True)

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
            self.say(self.labels[name], text, china_clock_time(event.get("ts")))

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
