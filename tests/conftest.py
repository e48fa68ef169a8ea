"""Shared fixtures: a fresh simulated back office per test, a dispatcher, the trained model; the `live` switch.

The helpers the tests import (a tracker builder, running an action, reading what it said) are in
tests/helpers.py.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actions import backoffice  # noqa: E402
from tests.helpers import newest_model  # noqa: E402

LIVE_SWITCH = "XIAOAN_LIVE_TESTS"
ASKED = ("1", "true", "yes", "on")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--live", action="store_true", default=False,
                     help=f"run the `live` tests (tests/live) against running servers, as {LIVE_SWITCH}=1 does "
                          "(make test-live starts the servers and sets it)")


def live_asked(config: pytest.Config) -> bool:
    """`--live`, or XIAOAN_LIVE_TESTS=1 (true, yes, on)."""
    return bool(config.getoption("--live")) or (os.environ.get(LIVE_SWITCH) or "").strip().lower() in ASKED


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `live` talks to servers already running: skipped unless asked for. Once asked, a server
    that cannot be reached is a failure, not a skip."""
    if live_asked(config):
        return
    skip = pytest.mark.skip(reason=f"live: needs the servers running; set {LIVE_SWITCH}=1 or pass --live "
                                   "(make test-live starts them and sets it)")
    for item in items:
        if item.get_closest_marker("live"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The newest trained model. A test that needs one fails without it, never skips: `make test` trains before
    its test steps, so a missing model there is a real failure."""
    model = newest_model()
    if model is None:
        pytest.fail("no trained model in models/: run `make train` first (make test trains before pytest)",
                    pytrace=False)
    return model


@pytest.fixture(autouse=True)
def backoffice_db(tmp_path, monkeypatch):
    """Every test gets its own SQLite back office, created on first use."""
    url = f"sqlite:///{tmp_path}/backoffice.db"
    monkeypatch.setenv("XIAOAN_BACKOFFICE_URL", url)
    backoffice._backoffice_for.cache_clear()
    yield url
    backoffice._backoffice_for.cache_clear()


@pytest.fixture(autouse=True)
def ingress_key(tmp_path, monkeypatch):
    """Every test gets its own ingress key (xiaoan/identity/seal.py), never the repository's var/ingress_key."""
    from xiaoan.identity.seal import KEY_FILE_ENV, make_key_file

    monkeypatch.setenv(KEY_FILE_ENV, str(make_key_file(tmp_path / "ingress_key")))


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(params=("UTC", "Asia/Shanghai", "America/Los_Angeles", "Pacific/Kiritimati"))
def process_zone(request, monkeypatch):
    """The test process's own zone (TZ): nothing in the product may depend on it (xiaoan/clock.py)."""
    import time

    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(autouse=True)
def fresh_rate_counters(monkeypatch):
    """Every test starts with nothing counted (xiaoan/runtime/limits.py), in this process's memory."""
    from xiaoan.runtime import limits

    monkeypatch.delenv(limits.REDIS_ENV, raising=False)
    limits.reset()
