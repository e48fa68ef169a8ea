"""`xiaoan.runtime`: what `install()` changes in Rasa really happens, and it refuses versions it was not written for.

* An `Agent` built by Rasa's own code after `install()` has 小安's processor,
  and a message logged or parsed through that agent is admitted by the
  ingress before the NLU sees it and before it is stored (the model load is
  the only thing left out: `MessageProcessor._load_model` returns the domain,
  and the NLU is an HTTP-interpreter stand-in that records what it was given).
* `versions`: this venv matches; any other version of a package the runtime
  reaches into stops `install()` before it changes anything, and stops
  ``python -m xiaoan.runtime`` with a message naming the package.

Everything `install()` touches is put back after each test.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List

import pytest
import rasa.core.agent
import rasa.core.run
import rasa.utils.io
import rasa_sdk.utils
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered

import xiaoan.runtime
from xiaoan.runtime import versions
from xiaoan.runtime.processor import XiaoanProcessor

ROOT = Path(__file__).resolve().parents[1]
CARD, PIN, CODE = "6222021234567890123", "318274", "845213"


@pytest.fixture
def uninstalled(monkeypatch):
    """The process as before `install()`; whatever the test installs is undone after it."""
    monkeypatch.setattr(rasa.core.agent, "MessageProcessor", MessageProcessor)
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction.__dict__["_validate_action_result"])
    monkeypatch.setattr(xiaoan.runtime, "_INSTALLED", False)
    for module, name in ((rasa.core.run, "configure_app"), (rasa.utils.io, "configure_colored_logging"),
                         (rasa_sdk.utils, "configure_colored_logging")):
        monkeypatch.setattr(module, name, getattr(module, name))  # put back after the test
    monkeypatch.setitem(sys.modules, "jax", sys.modules.get("jax"))
    assert rasa.core.agent.MessageProcessor is MessageProcessor


class RecordingInterpreter:
    """Rasa's NLU-over-HTTP slot (`http_interpreter`): records the text the NLU would get."""

    def __init__(self) -> None:
        self.texts: List[str] = []

    async def parse(self, message: UserMessage) -> Dict[str, Any]:
        self.texts.append(message.text)
        return {"text": message.text, "intent": {"name": "inform", "confidence": 1.0},
                "entities": [], "intent_ranking": [{"name": "inform", "confidence": 1.0}]}


def test_an_agent_built_by_rasa_after_install_admits_every_message(uninstalled, monkeypatch):
    xiaoan.runtime.install()
    assert rasa.core.agent.MessageProcessor is XiaoanProcessor

    domain = Domain.load(str(ROOT / "domain.yml"))
    metadata = SimpleNamespace(domain=domain, assistant_id="xiaoan-runtime-test", model_id="runtime-test")
    monkeypatch.setattr(MessageProcessor, "_load_model", staticmethod(lambda path: ("runtime-test", metadata, None)))
    interpreter = RecordingInterpreter()
    agent = rasa.core.agent.Agent(domain=domain, tracker_store=InMemoryTrackerStore(domain),
                                  lock_store=InMemoryLockStore(), http_interpreter=interpreter)
    agent.load_model("runtime-test.tar.gz")  # Rasa's code builds the processor
    assert type(agent.processor) is XiaoanProcessor

    said = f"卡号{CARD}转账失败了，密码{PIN}"
    message = UserMessage(said, CollectingOutputChannel(), "runtime-check", metadata={"message_id": "m-1"})
    tracker = asyncio.run(agent.log_message(message))
    parsed = asyncio.run(agent.parse_message(f"验证码{CODE}，帮我查一下"))

    assert len(interpreter.texts) == 2
    for text in interpreter.texts + [parsed["text"]]:
        assert CARD not in text and PIN not in text and CODE not in text
    assert CARD[-4:] in interpreter.texts[0]  # the tail is kept for the bot to use
    [stored] = [e for e in tracker.events if isinstance(e, UserUttered)]
    assert CARD not in stored.text and PIN not in stored.text
    facts = stored.metadata["xiaoan"]
    assert facts["message_id"] == "m-1"
    assert {"card_number", "pin"} <= set(facts["secrets_masked"]), facts
    assert stored.message_id == message.message_id


def test_this_venv_has_the_versions_the_runtime_was_written_against():
    assert versions.mismatches() == []
    versions.check_versions()  # no exit


def test_another_version_stops_install_before_it_changes_anything(uninstalled, monkeypatch):
    installed = versions.version
    monkeypatch.setattr(versions, "version", lambda package: "3.7.0" if package == "rasa" else installed(package))
    with pytest.raises(SystemExit) as refused:
        xiaoan.runtime.install()
    message = str(refused.value)
    assert "rasa 3.7.0 (needs 3.6.21)" in message and "refuses to start" in message
    assert "python-socketio" not in message  # only what is wrong is named
    assert rasa.core.agent.MessageProcessor is MessageProcessor
    assert RemoteAction.__dict__["_validate_action_result"].__module__ == "rasa.core.actions.action"


@pytest.mark.parametrize("args", [["--version"], ["run", "actions", "--port", "1"]], ids=["rasa server", "action server"])
def test_python_m_xiaoan_runtime_refuses_another_version(tmp_path, args):
    """The real entry point, in a new interpreter whose python-socketio claims to be 5.9.0."""
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent("""
        import importlib.metadata as metadata
        _installed = metadata.version
        metadata.version = lambda package: "5.9.0" if package == "python-socketio" else _installed(package)
    """), encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "xiaoan.runtime", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "python-socketio 5.9.0 (needs 5.18.1)" in done.stderr, done.stderr
    assert "rasa " not in done.stdout  # Rasa's own command line never ran
