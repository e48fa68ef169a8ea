"""One side of a CPU measurement: a tree's own servers, a REST load with verified identities, the CPU it cost.

Why a module of its own: the A/B (`bench/ab.py`, two commits side by side) and the
performance budget (`bench/budget.py`, in `make test`) must measure the same way.

The servers start from the given tree exactly as its `make run` starts them
(`python -m xiaoan.runtime run actions` and `python -m xiaoan.runtime run`, niced), with
a fresh SQLite tracker store, back office and hand-over store in a work folder, one
identity secret, ingress key and action key for both. Every conversation's messages
carry a signed identity token (C0001 or M0001, alternating), as a signed-in user's do.

CPU per message = (user + system CPU seconds of the Rasa server and the action server,
read from /proc, after the load − before it) / messages answered. The load
generator runs in this process and is not counted.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import aiohttp

from common import NICE, percentile
from load_test import script_for

SUBJECTS = ("C0001", "M0001")
THINK_S = (1.0, 4.0)


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of a process, from /proc (no psutil: this runs in `make test`)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / _TICKS


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _secret_file(path: Path, value: str) -> str:
    path.write_text(value, encoding="utf-8")
    path.chmod(0o600)
    return str(path)


def write_endpoints(folder: Path, action_port: int) -> Path:
    """The project's endpoints (selective domain, facts NLG, masking SQL store) on this folder and port."""
    path = folder / "endpoints.yml"
    path.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n  enable_selective_domain: true\n'
        "nlg:\n  type: xiaoan.runtime.nlg.FactsNaturalLanguageGenerator\n"
        "tracker_store:\n  type: xiaoan.runtime.tracker_store.MaskingSQLTrackerStore\n"
        f"  dialect: sqlite\n  db: {folder / 'tracker.db'}\n", encoding="utf-8")
    return path


@dataclass
class TreeServers:
    """A tree's action server and Rasa server; `stop()` stops only these two pids."""

    tree: Path
    model: Path
    folder: Path
    rasa_port: int = 5205
    action_port: int = 5255
    identity_secret: str = "bench-identity-secret-not-for-production"
    procs: Dict[str, subprocess.Popen] = field(default_factory=dict)
    peak_rss: Dict[str, int] = field(default_factory=lambda: {"rasa": 0, "actions": 0})
    _sampling: bool = False

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        for name in ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_ENCODING_AES_KEY", "WECHAT_APP_SECRET", "WECHAT_API_BASE"):
            env.setdefault(name, "")  # credentials.yml names them
        env.update(
            PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="2", SQLALCHEMY_SILENCE_UBER_WARNING="1",
            RASA_TELEMETRY_ENABLED="false", SANIC_KEEP_ALIVE_TIMEOUT="75", SANIC_HOST="127.0.0.1",
            XIAOAN_RUN_DIR=str(self.folder),
            XIAOAN_BACKOFFICE_URL=f"sqlite:///{self.folder / 'backoffice.db'}",
            XIAOAN_HANDOVER_URL=f"sqlite:///{self.folder / 'backoffice.db'}",
            XIAOAN_IDENTITY_SECRET=self.identity_secret,
            XIAOAN_INGRESS_KEY_FILE=_secret_file(self.folder / "ingress_key", secrets.token_hex(32)),
            XIAOAN_ACTION_KEY_FILE=_secret_file(self.folder / "action_key", secrets.token_hex(32)),
        )
        return env

    def start(self, extra_env: Optional[Dict[str, str]] = None) -> float:
        """Both servers (with `extra_env` on top); the seconds from their start to the first non-empty answer."""
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        env = {**self.env(), **(extra_env or {})}
        python = str(self.tree / ".venv" / "bin" / "python")
        started = time.perf_counter()
        self.procs["actions"] = subprocess.Popen(
            NICE + [python, "-m", "xiaoan.runtime", "run", "actions", "--actions", "actions",
                    "--port", str(self.action_port)],
            cwd=self.tree, env=env, stdout=open(self.folder / "actions.log", "w"), stderr=subprocess.STDOUT)
        self.procs["rasa"] = subprocess.Popen(
            NICE + [python, "-m", "xiaoan.runtime", "run", "--enable-api", "-i", "127.0.0.1", "-p",
                    str(self.rasa_port), "-m", str(self.model), "--credentials", "credentials.yml",
                    "--endpoints", str(write_endpoints(self.folder, self.action_port))],
            cwd=self.tree, env=env, stdout=open(self.folder / "rasa.log", "w"), stderr=subprocess.STDOUT)
        self._sample_rss()
        return asyncio.run(self._first_answer(started))

    async def _first_answer(self, started: float, limit: float = 300.0) -> float:
        async with aiohttp.ClientSession() as session:
            while time.perf_counter() - started < limit:
                for name, proc in self.procs.items():
                    if proc.poll() is not None:
                        raise RuntimeError(f"{name} server exited; see {self.folder}/{name}.log")
                try:
                    async with session.post(f"{self.base}/webhooks/rest/webhook",
                                            json={"sender": f"startup-{uuid.uuid4().hex[:6]}", "message": "你好"},
                                            timeout=aiohttp.ClientTimeout(total=30)) as response:
                        if response.status == 200 and await response.json():
                            return time.perf_counter() - started
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"no answer within {limit:.0f} s; see {self.folder}/rasa.log")

    def _sample_rss(self) -> None:
        self._sampling = True

        def sample() -> None:
            while self._sampling:
                for name, proc in list(self.procs.items()):
                    self.peak_rss[name] = max(self.peak_rss[name], rss_bytes(proc.pid))
                time.sleep(0.25)

        threading.Thread(target=sample, daemon=True).start()

    def rss_mb(self, name: str) -> int:
        return round(rss_bytes(self.procs[name].pid) / 2**20)

    def cpu_seconds(self) -> Dict[str, float]:
        """User + system CPU seconds so far of each server (and of its children that ended)."""
        return {name: cpu_seconds(proc.pid) for name, proc in self.procs.items()}

    def stop(self) -> None:
        self._sampling = False
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def identity_token(subject: str, secret: str, lifetime_s: int = 3600) -> str:
    """A signed-in user's token as CONTRACT §8 describes it (HS256, `sub` and `exp`), made here so that the
    load needs nothing from either side's code."""
    import jwt

    return jwt.encode({"sub": subject, "exp": int(time.time()) + lifetime_s}, secret, algorithm="HS256")


def think_times(index: int, turns: int) -> List[float]:
    """A person's pause before each turn, 1-4 s, seeded per conversation (the same pauses on every side)."""
    import random

    rng = random.Random(2611 + index)
    return [round(rng.uniform(*THINK_S), 3) for _ in range(turns)]


async def _talk(session: aiohttp.ClientSession, base: str, sender: str, token: str, messages: List[str],
                latencies: List[float], errors: List[str], pauses: Optional[List[float]]) -> None:
    for turn, text in enumerate(messages):
        if pauses:
            await asyncio.sleep(pauses[turn])
        started = time.perf_counter()
        try:
            async with session.post(f"{base}/webhooks/rest/webhook",
                                    json={"sender": sender, "message": text, "metadata": {"identity": token}},
                                    timeout=aiohttp.ClientTimeout(total=120)) as response:
                body = await response.text()
                if response.status != 200:
                    errors.append(f"HTTP {response.status}: {body[:100]}")
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            errors.append(f"{type(error).__name__}: {error}")


async def _load(servers: TreeServers, conversations: int, turns: int, paced: bool, offset: int) -> Dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    latencies: List[float] = []
    errors: List[str] = []
    connector = aiohttp.TCPConnector(limit=conversations + 4)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = []
        for i in range(conversations):
            index = offset + i
            token = identity_token(SUBJECTS[index % 2], servers.identity_secret)
            tasks.append(_talk(session, servers.base, f"cpu-{run}-{index:03d}", token, script_for(index, turns),
                               latencies, errors, think_times(index, turns) if paced else None))
        started = time.perf_counter()
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - started
    return {"messages": len(latencies), "errors": len(errors), "error_samples": errors[:3], "wall_s": round(wall, 2),
            "msg_per_s": round(len(latencies) / wall, 2) if wall else None,
            "p50_ms": round(percentile(latencies, 50) or 0, 1), "p95_ms": round(percentile(latencies, 95) or 0, 1)}


def measured_load(servers: TreeServers, conversations: int, turns: int, paced: bool = False,
                  offset: int = 0) -> Dict[str, Any]:
    """One load; with the CPU it cost both servers per message answered (ms)."""
    before = servers.cpu_seconds()
    result = asyncio.run(_load(servers, conversations, turns, paced, offset))
    after = servers.cpu_seconds()
    spent = {name: after[name] - before.get(name, 0.0) for name in after}
    answered = max(result["messages"], 1)
    result["cpu_ms_per_msg"] = round(1000 * sum(spent.values()) / answered, 2)
    result["cpu_ms_per_msg_by_server"] = {name: round(1000 * s / answered, 2) for name, s in spent.items()}
    return result
