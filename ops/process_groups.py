"""Which processes of given process groups are still alive (children included), read from /proc.

supervisord makes each program the leader of its own process group, so a group
id names a program and everything it started: a stop that leaves nothing is
checked here, not by trusting exit codes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, List


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
