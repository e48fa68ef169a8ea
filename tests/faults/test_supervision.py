"""Supervision: processes that die come back by themselves, and stopping leaves nothing.

Two parts, both on the real supervisord (`ops/supervisor_run.py`):

* stand-in programs (a tiny HTTP server, a program that exits at once): a
  SIGKILLed process is started again; one that keeps dying at once is
  retried with growing pauses, then given up; the health watch restarts a
  process that runs but no longer answers; stopping kills the children too.
  Seconds, no Rasa.
* `make run` itself (``python -m ops.local`` on its own ports and folder):
  the action server killed mid-conversation is started again, the busy
  answer covers the gap and the form then completes; the chat page killed
  comes back; the terminal shows a person what happened, the logs are JSON
  lines; Ctrl-C stops everything and nothing is left running.

Run by `make test-faults`.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator, List

import pytest
import yaml

from ops.services import PYTHON, ROOT
from ops.display import TerminalDisplay
from ops.probes import http_status, port_in_use
from ops.process_groups import process_groups_alive
from ops.supervisor_config import Program
from ops.supervisor_rpc import SupervisorClient
from ops.supervisor_run import Supervisor
from tests.clients import identity_token, rest_say, said, tracker, user_texts

STAND_IN = [PYTHON, "-m", "tests.stand_ins.health_server"]
BUSY_TEXT = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"][
    "utter_system_busy"][0]["text"]


def wait_for(condition, timeout: float, pause: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(pause)
    return condition()


def stand_in(name: str, port: int, work: Path, *extra: str, **settings) -> Program:
    return Program(name=name, label=name, argv=[*STAND_IN, str(port), *extra], log=work / f"{name}.log",
                   live_url=f"http://127.0.0.1:{port}/health/live", ready_url=f"http://127.0.0.1:{port}/health/ready",
                   port=port, **{"startsecs": 1, "stopwaitsecs": 3, **settings})


@pytest.fixture
def work(tmp_path) -> Path:
    return tmp_path


def spawn_times(log: Path, name: str) -> List[float]:
    stamps = []
    for line in log.read_text(encoding="utf-8").splitlines():
        if f"spawned: '{name}'" in line:
            day, clock = line.split()[:2]
            hms, millis = clock.split(",")
            h, m, s = (int(x) for x in hms.split(":"))
            stamps.append(h * 3600 + m * 60 + s + int(millis) / 1000)
    return stamps


def test_a_killed_process_is_started_again_and_stopping_leaves_nothing(work):
    supervisor = Supervisor(work, [stand_in("one", 18411, work, "--child"), stand_in("two", 18412, work)]).start()
    try:
        supervisor.wait_ready(timeout=30)
        before = supervisor.pid("one")
        children = process_groups_alive([before])[before]
        assert len(children) == 2, "the program and its child, in one process group"

        os.kill(before, signal.SIGKILL)
        took = supervisor.wait_ready(["one"], timeout=15, old_pids={"one": before})["one"]
        assert supervisor.pid("one") != before and took < 10
        assert "exited: one (terminated by SIGKILL; not expected)" in supervisor.log.read_text(encoding="utf-8")
        # its child is not left behind in the dead program's group (ops/reaper.py)
        assert wait_for(lambda: before not in process_groups_alive([before]), timeout=10), "an orphan lives on"
        assert supervisor.pid("two"), "the other program was left alone"
        groups = {pid for pids in supervisor.seen_pids.values() for pid in pids}
    finally:
        leftovers = supervisor.stop()
    assert leftovers == []
    assert process_groups_alive(groups | {supervisor.process.pid}) == {}, "a process (or a child) outlived the stop"
    assert not port_in_use(18411) and not port_in_use(18412)
    assert not supervisor.socket.exists()


def test_a_program_that_keeps_dying_at_once_is_retried_with_back_off_then_given_up(work):
    dying = Program(name="dying", label="dying", argv=[*STAND_IN, "not-a-port"],  # exits at once
                    # startsecs well above the time it takes to die: a starved CPU can take over a second to
                    # start Python, and a process alive past startsecs counts as started (its retries reset)
                    log=work / "dying.log", startsecs=10, startretries=3, stopwaitsecs=2)
    supervisor = Supervisor(work, [dying]).start()
    try:
        assert wait_for(lambda: supervisor.info("dying")["statename"] == "FATAL", timeout=60)
        spawns = spawn_times(supervisor.log, "dying")
        assert len(spawns) == 4, spawns  # the first start and 3 retries
        gaps = [later - earlier for earlier, later in zip(spawns, spawns[1:])]
        # supervisord waits 1, 2, 3 s (plus the moment it takes to notice the exit)
        assert gaps == sorted(gaps) and gaps[-1] - gaps[0] > 1.5, gaps
        assert "gave up: dying entered FATAL state" in supervisor.log.read_text(encoding="utf-8")
    finally:
        assert supervisor.stop() == []


def test_the_health_watch_restarts_a_process_that_no_longer_answers(work):
    program = stand_in("frozen", 18413, work, startup_grace_s=1.0)
    watch = work / "healthwatch.json"
    watch.write_text(json.dumps({"work": str(work), "interval_s": 1, "unresponsive_s": 3,
                                 "programs": [program.watch()], "nginx": None}), encoding="utf-8")
    watcher = Program(name="healthwatch", label="health watch", argv=[PYTHON, "-m", "ops.healthwatch", str(watch)],
                      log=work / "healthwatch.log", startsecs=1, stopwaitsecs=3, priority=900)
    supervisor = Supervisor(work, [program, watcher]).start()
    try:
        supervisor.wait_ready(["frozen"], timeout=30)
        frozen = supervisor.pid("frozen")
        os.kill(frozen, signal.SIGSTOP)  # still running for supervisord, answers nothing
        assert wait_for(lambda: supervisor.info("frozen")["pid"] not in (0, frozen), timeout=30, pause=0.5)
        supervisor.wait_ready(["frozen"], timeout=20, old_pids={"frozen": frozen})
        events = [json.loads(line) for line in (work / "healthwatch.log").read_text(encoding="utf-8").splitlines()
                  if line.startswith("{")]
        [restart] = [e for e in events if e.get("event") == "process.unresponsive"]
        assert restart["program"] == "frozen" and restart["pid"] == frozen and restart["seconds"] >= 3
    finally:
        assert supervisor.stop() == []


def test_the_terminal_display_tells_a_person_what_happened(work):
    supervisor = Supervisor(work, [stand_in("page", 18414, work)]).start()
    lines: List[str] = []

    class Out:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

    try:
        supervisor.wait_ready(timeout=30)
        display = TerminalDisplay(supervisor, out=Out())  # type: ignore[arg-type]
        display.poll()
        before = supervisor.kill("page")
        supervisor.wait_ready(["page"], timeout=15, old_pids={"page": before})
        time.sleep(0.3)
        display.poll()
    finally:
        supervisor.stop()
    text = "".join(lines)
    assert "page stopped unexpectedly (terminated by SIGKILL): supervisor starts it again" in text, text
    assert re.search(r"page started \(pid \d+\)", text), text


# ------------------------------------------------------------------ make run, for real

RUN = {"RASA_PORT": "5025", "ACTION_PORT": "5075", "WEB_PORT": "8085", "CONSOLE_PORT": "8095"}
RUN_DIR = ROOT / "var" / "faults-run"


class Terminal:
    """`make run`'s output as a person would see it, collected while it runs."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.lines: List[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, needle: str, timeout: float) -> bool:
        return bool(wait_for(lambda: needle in self.text() or self.process.poll() is not None, timeout, 0.5)) \
            and needle in self.text()


@pytest.fixture(scope="module")
def make_run(trained_model: Path) -> Iterator[Terminal]:  # its Rasa server loads models/
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    environment = {**os.environ, **RUN, "XIAOAN_RUN_DIR": str(RUN_DIR), "PYTHONUNBUFFERED": "1"}
    environment.pop("RASA_AUTH_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "ops.local"], cwd=ROOT, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    terminal = Terminal(process)
    try:
        assert terminal.wait_for("Ctrl-C stops everything", 420), terminal.text()[-3000:]
        yield terminal
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def run_supervisor() -> SupervisorClient:
    return SupervisorClient.in_folder(RUN_DIR / "supervisor")


def test_make_run_restarts_a_killed_action_server_and_the_conversation_completes(make_run):
    rasa = f"http://127.0.0.1:{RUN['RASA_PORT']}"
    supervisor = run_supervisor()
    user = f"run-{uuid.uuid4().hex[:8]}"
    assert "终端号" in said(rest_say(rasa, user, "POS机一直提示通讯失败", identity=identity_token("M0001")))

    killed = supervisor.kill("actions")
    reply = rest_say(rasa, user, "终端号10000002", identity=identity_token("M0001"))
    assert said(reply) == BUSY_TEXT  # the gap: answered, not silence, not a 500
    assert wait_for(lambda: supervisor.info("actions")["pid"] not in (0, killed)
                    and http_status(f"http://127.0.0.1:{RUN['ACTION_PORT']}/health/ready") == 200, timeout=60)
    assert wait_for(lambda: http_status(f"{rasa}/health/ready") == 200, timeout=15)
    assert "离线约2小时" in said(rest_say(rasa, user, "终端号10000002", identity=identity_token("M0001")))
    token = (RUN_DIR / "supervisor" / "auth_token").read_text(encoding="utf-8").strip()  # make run made it
    assert user_texts(tracker(rasa, user, token)["events"]) == ["POS机一直提示通讯失败", "终端号10000002", "终端号10000002"]

    assert make_run.wait_for("actions :5075 stopped unexpectedly (terminated by SIGKILL)", 10), make_run.text()
    assert make_run.wait_for(f"conversation {user}  rest  inform  busy  failed: diagnosis_form", 10), make_run.text()


def test_make_run_restarts_a_killed_chat_page(make_run):
    supervisor = run_supervisor()
    killed = supervisor.kill("web")
    page = f"http://127.0.0.1:{RUN['WEB_PORT']}/"
    assert wait_for(lambda: supervisor.info("web")["pid"] not in (0, killed) and http_status(page) == 200, timeout=20)


def test_make_run_terminal_is_for_a_person_and_the_logs_are_json_lines(make_run):
    terminal = make_run.text().split("Ctrl-C stops everything", 1)[-1]
    assert terminal.strip(), "nothing was reported"
    assert not [line for line in terminal.splitlines() if line.lstrip().startswith("{")], "raw JSON in the terminal"
    for name in ("rasa", "actions"):
        lines = [line for line in (RUN_DIR / f"{name}.log").read_text(encoding="utf-8").splitlines() if line.strip()]
        records = [json.loads(line) for line in lines]  # every line is one JSON object
        assert all({"ts", "level", "process", "event"} <= set(r) for r in records)
    handled = [json.loads(line) for line in (RUN_DIR / "rasa.log").read_text(encoding="utf-8").splitlines()
               if '"message.handled"' in line]
    assert handled and all(r.get("conversation_id") and "duration_ms" in r for r in handled)
    assert "POS机一直提示通讯失败" not in (RUN_DIR / "rasa.log").read_text(encoding="utf-8"), "user text in a log"


def test_ctrl_c_stops_make_run_and_leaves_nothing(make_run):
    supervisor = run_supervisor()
    infos = supervisor.infos()
    groups = {int(info["pid"]) for info in infos.values() if info.get("pid")}
    groups.add(int((RUN_DIR / "supervisor" / "supervisord.pid").read_text().strip()))
    make_run.process.send_signal(signal.SIGINT)
    assert make_run.process.wait(90) == 0
    assert wait_for(lambda: "nothing left running" in make_run.text(), 5), make_run.text()[-2000:]
    assert process_groups_alive(groups) == {}, "a server outlived Ctrl-C"
    for port in RUN.values():
        assert not port_in_use(int(port)), f"port {port} still open"
