"""supervisord event listener: a program that died leaves no child behind.

    [eventlistener:reaper]  command=python -m ops.reaper   events=PROCESS_STATE_EXITED,PROCESS_STATE_BACKOFF

supervisord makes every program the leader of its own process group and,
when asked to stop it, signals the whole group. A program that *dies* (a
SIGKILL, an out-of-memory kill) is only restarted: its children live on in
the old group. nginx's worker would keep the port, and the new nginx could
not bind it. On every unexpected exit (EXITED, or BACKOFF for a death
during the start) this listener kills every process group of supervisord's
session whose leader is dead (SIGKILL) and logs it as one JSON line. A live
program always leads its group, so only what a dead one left is touched.
"""
from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Dict, List, Set

from xiaoan import clock


def parse(line: str) -> Dict[str, str]:
    return dict(part.split(":", 1) for part in line.split() if ":" in part)


def orphaned_groups(session: int) -> Dict[int, List[int]]:
    """{group: [pids]} of the processes in `session` whose group leader is gone."""
    members: Dict[int, List[int]] = {}
    alive: Set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        state, group, sid = fields[0], int(fields[2]), int(fields[3])  # state, ppid, pgrp, session
        if state == "Z":
            continue
        alive.add(int(entry.name))
        if sid == session:
            members.setdefault(group, []).append(int(entry.name))
    return {group: pids for group, pids in members.items() if group not in alive and group != session}


def reap(session: int) -> Dict[int, List[int]]:
    """Kills the orphaned groups of `session`; what they held."""
    found = orphaned_groups(session)
    for group in found:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return found


def log(**fields: object) -> None:
    line = {"ts": clock.for_logs(clock.timestamp()), "level": "warning",
            "process": os.environ.get("XIAOAN_PROCESS", "reaper"), "logger": "xiaoan.reaper", **fields}
    sys.stderr.write(json.dumps(line) + "\n")
    sys.stderr.flush()


def main() -> None:
    session = os.getsid(0)  # supervisord's: every program and its children are in it
    while True:
        sys.stdout.write("READY\n")  # supervisord's event listener protocol
        sys.stdout.flush()
        headers = parse(sys.stdin.readline())
        payload = parse(sys.stdin.read(int(headers.get("len", 0))))
        if headers.get("eventname") in ("PROCESS_STATE_EXITED", "PROCESS_STATE_BACKOFF"):
            for group, pids in reap(session).items():
                log(event="process.orphans_killed", program=payload.get("processname"), group=group, count=len(pids))
        sys.stdout.write("RESULT 2\nOK")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
