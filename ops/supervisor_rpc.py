"""Talking to a running supervisord over its UNIX socket (XML-RPC): its state, its programs, a kill.

Anything that only looks at or nudges a supervisor someone else started (the
health watch, the fault tests) uses a `SupervisorClient`; `Supervisor`
(ops/supervisor_run.py) is the one client that also starts and stops it.
"""
from __future__ import annotations

import os
import signal
import xmlrpc.client
from pathlib import Path
from typing import Any, Dict, Set

from ops.services import ServiceError
from ops.supervisor_config import socket_path


class SupervisorClient:
    """supervisord's XML-RPC interface at one socket; remembers every pid it reported (for a stop that leaves
    nothing)."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self.seen_pids: Dict[str, Set[int]] = {}

    @classmethod
    def in_folder(cls, work: Path) -> "SupervisorClient":
        """The client of the supervisord whose work folder is `work`."""
        return cls(socket_path(work))

    def rpc(self) -> Any:
        from supervisor.xmlrpc import SupervisorTransport

        return xmlrpc.client.ServerProxy(
            "http://127.0.0.1", transport=SupervisorTransport(None, None, f"unix://{self.socket}")
        )

    def answering(self) -> bool:
        """supervisord is there and RUNNING (not starting, not shutting down)."""
        if not self.socket.exists():
            return False
        try:
            return self.rpc().supervisor.getState()["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Error):
            return False

    def infos(self) -> Dict[str, Dict[str, Any]]:
        """{program name: supervisord's process info} for every program, the reaper included."""
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
