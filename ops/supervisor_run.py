"""supervisord started in the foreground, waited for until its programs are ready, stopped leaving nothing.

A `Supervisor` writes its `SupervisorConfig` (ops/supervisor_config.py) into its
work folder, runs ``supervisord`` in the foreground (a child of the command a
person started, in its own session, sent SIGTERM if that command dies) and
talks to it over its 0700 UNIX socket (ops/supervisor_rpc.py). One supervisord
per work folder at a time: a start waits for the previous one's stop to be over
(see `Supervisor._claim_folder`). `stop()` leaves nothing: it checks that every
process id the supervisor ever reported is gone, and kills any that is not.

The health watch (`ops/healthwatch.py`, itself a supervised program) adds
what supervisord cannot see: a process that runs but no longer answers its
liveness URL is restarted, and nginx's upstreams follow readiness.
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import subprocess
import time
import xmlrpc.client
from pathlib import Path
from typing import IO, Dict, Iterable, List, Optional

from ops.probes import http_status, port_in_use
from ops.process_groups import process_groups_alive
from ops.services import PYTHON, QUIET_ENV, ROOT, ServiceError
from ops.supervisor_config import Program, SupervisorConfig
from ops.supervisor_rpc import SupervisorClient

SUPERVISORD = str(Path(PYTHON).parent / "supervisord")
PR_SET_PDEATHSIG = 1
# A supervisor whose owner holds the folder and answers RUNNING this long is running, not stopping.
STILL_RUNNING_S = 2.0


def _die_with_parent() -> None:
    """In the supervisord child: SIGTERM when the command that started it dies (no orphaned servers)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class Supervisor(SupervisorClient):
    """supervisord for a list of programs, in a work folder: config, socket, pid file, its log."""

    def __init__(self, work: Path, programs: List[Program], name: str = "xiaoan") -> None:
        self.config = SupervisorConfig(work, programs, name)
        super().__init__(self.config.socket)
        self.work = work
        self.programs = self.config.programs
        self.name = name
        self.conf = self.config.conf
        self.pidfile = self.config.pidfile
        self.log = self.config.log
        self.lock = work / "supervisor.lock"
        self.process: Optional[subprocess.Popen] = None
        self._folder: Optional[IO[str]] = None  # the flock held from start() to the end of stop()

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
        self.config.write()
        # supervisord stamps its own log lines with the local clock: make that China time, the product's one clock
        environment = {**os.environ, **QUIET_ENV, "TZ": "Asia/Shanghai"}
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
