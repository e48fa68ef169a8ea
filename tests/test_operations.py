"""Health, readiness and metrics on the apps Rasa and rasa-sdk build themselves (`xiaoan.runtime.operations`).

The Rasa server's app comes from Rasa's own `rasa.core.run.configure_app`
(wrapped by `install_rasa_server`) and the action server's from rasa-sdk's
`create_app` plus its plugin hook; each is served for real on a loopback
port, in this process. The Rasa server's agent is a stand-in holding real
stores: the project's SQL tracker store on PostgreSQL and its Redis lock
store, each reached through a relay the test can cut (tests/stand_ins/tcp_proxy.py),
so "PostgreSQL unreachable" and "Redis unreachable" are the real errors.
A test here fails if a Rasa or rasa-sdk upgrade moves what the runtime hooks.
"""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from contextlib import closing
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import rasa.core.run
from rasa.core.channels.rest import RestInput
from rasa.utils.endpoints import EndpointConfig

from xiaoan.runtime import action_key, metrics, operations
from xiaoan.runtime.lock_store import AtomicRedisLockStore
from xiaoan.runtime.tracker_store import MaskingSQLTrackerStore
from tests.helpers import forged_action_call
from tests.stand_ins.health_server import Handler as HealthHandler
from tests.stand_ins.tcp_proxy import TcpProxy

TOKEN = "test-token-operations"
PG, REDIS = ("127.0.0.1", 5432), ("127.0.0.1", 6379)
TEST_DB = "xiaoan_operations_test"


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, headers: Optional[Dict[str, str]] = None, data: Optional[bytes] = None) -> Tuple[int, Dict, Any]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read()
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, body
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def wait_until(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


class Served:
    """A Sanic app on a loopback port, in a thread of this process, with its listeners run."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self._server: Any = None
        self._up = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def serve() -> None:
            self._server = await self.app.create_server(host="127.0.0.1", port=self.port,
                                                        return_asyncio_server=True, access_log=False)
            await self._server.startup()
            await self._server.before_start()
            await self._server.after_start()
            self._up.set()
            await self._server.serve_forever()

        try:
            self.loop.run_until_complete(serve())
        except (asyncio.CancelledError, RuntimeError):
            pass

    def __enter__(self) -> "Served":
        self._thread.start()
        assert self._up.wait(30), "the app did not start"
        return self

    def __exit__(self, *_: Any) -> None:
        async def stop() -> None:
            await self._server.before_stop()
            self._server.close()
            await self._server.after_stop()
            for task in asyncio.all_tasks(self.loop):
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(15)
        self._thread.join(5)


class StubAgent:
    """What the app's routes read of Rasa's Agent, with real stores; records the messages it is handed."""

    def __init__(self, tracker_store: Any, lock_store: Any, action_url: Optional[str]) -> None:
        self.tracker_store = tracker_store
        self.lock_store = lock_store
        self.action_endpoint = EndpointConfig(url=action_url) if action_url else None
        self.handled: List[str] = []

    def is_ready(self) -> bool:
        return True

    async def handle_message(self, message: Any) -> None:
        self.handled.append(message.text)


@pytest.fixture(autouse=True)
def wrapped_configure_app(monkeypatch):
    """install_rasa_server() on a clean Rasa, put back after each test."""
    from sanic import Sanic

    monkeypatch.setattr(rasa.core.run, "configure_app", rasa.core.run.configure_app)
    monkeypatch.setattr(Sanic, "test_mode", True)  # one process builds several apps of one name
    monkeypatch.setenv("XIAOAN_READINESS_INTERVAL_S", "0.5")
    operations.install_rasa_server()


@pytest.fixture(scope="module")
def database() -> Iterator[None]:
    from ops.scale import admin_cursor, check_services

    check_services()  # PostgreSQL and Redis, or a message saying how to start them (never a skip)
    with admin_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}"')
        cursor.execute(f'CREATE DATABASE "{TEST_DB}"')
    yield
    with admin_cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (TEST_DB,))
        cursor.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}"')


@pytest.fixture
def relays() -> Iterator[Dict[str, TcpProxy]]:
    proxies = {"postgres": TcpProxy(PG).start(), "redis": TcpProxy(REDIS).start()}
    yield proxies
    for proxy in proxies.values():
        proxy.stop()


@pytest.fixture
def action_server() -> Iterator[str]:
    """A stand-in answering /health as rasa-sdk's server does."""
    from http.server import ThreadingHTTPServer

    class Health(HealthHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.path = "/health/live" if self.path == "/health" else self.path
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhook"
    server.shutdown()


def rasa_app(agent: Optional[StubAgent], token: Optional[str] = TOKEN) -> Any:
    app = rasa.core.run.configure_app([RestInput()], cors=None, auth_token=token, enable_api=True)
    if agent is not None:
        async def give_agent(running_app: Any, _loop: Any) -> None:
            running_app.ctx.agent = agent

        app.register_listener(give_agent, "before_server_start")
    return app


def real_stores(relays: Dict[str, TcpProxy]) -> Tuple[Any, Any]:
    tracker_store = MaskingSQLTrackerStore(dialect="postgresql", host="127.0.0.1", port=relays["postgres"].port,
                                           db=TEST_DB, username="postgres")
    lock_store = AtomicRedisLockStore(host="127.0.0.1", port=relays["redis"].port, db=1,
                                      key_prefix="xiaoanoptest", socket_timeout=2)
    return tracker_store, lock_store


def readiness(url: str) -> Tuple[int, Dict[str, Any]]:
    status, _, body = get(f"{url}/health/ready")
    return status, json.loads(body)


def post_message(url: str, text: str) -> Tuple[int, Dict, Any]:
    body = json.dumps({"sender": "ops-test", "message": text}).encode()
    return get(f"{url}/webhooks/rest/webhook", {"Content-Type": "application/json"}, body)


def test_rasa_calls_the_wrapped_configure_app():
    """`rasa run` reaches the app through serve_application -> configure_app (module global)."""
    assert "configure_app" in rasa.core.run.serve_application.__code__.co_names
    assert hasattr(rasa.core.run.configure_app, "xiaoan_original")


def test_liveness_readiness_and_metrics_on_the_app_rasa_builds(database, relays, action_server):
    agent = StubAgent(*real_stores(relays), action_server)
    with Served(rasa_app(agent)) as served:
        assert get(f"{served.url}/health/live")[0] == 200
        assert wait_until(lambda: readiness(served.url)[0] == 200), readiness(served.url)
        checks = readiness(served.url)[1]["checks"]
        assert set(checks) == {"model", "tracker_store", "lock_store", "action_server"}
        assert all(check["ok"] for check in checks.values())

        # /metrics: the HTTP API's token, as a Prometheus bearer token or Rasa's ?token=
        assert get(f"{served.url}/metrics")[0] == 401
        assert get(f"{served.url}/metrics", {"Authorization": "Bearer wrong"})[0] == 401
        status, headers, body = get(f"{served.url}/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and headers["content-type"].startswith("text/plain")
        assert "xiaoan_ready 1.0" in body.decode() and 'xiaoan_dependency_up{dependency="lock_store"} 1.0' in body.decode()
        assert get(f"{served.url}/metrics?token={TOKEN}")[0] == 200
        assert get(f"{served.url}/status")[0] == 401  # Rasa's own API still wants the token too

        status, _, _ = post_message(served.url, "你好")
        assert status == 200 and agent.handled == ["你好"]


@pytest.mark.parametrize("cut, failing", [("redis", "lock_store"), ("postgres", "tracker_store")])
def test_a_server_that_cannot_reach_its_store_is_not_ready_and_refuses_messages(database, relays, action_server,
                                                                                cut, failing):
    agent = StubAgent(*real_stores(relays), action_server)
    with Served(rasa_app(agent)) as served:
        assert wait_until(lambda: readiness(served.url)[0] == 200)
        relays[cut].cut()
        assert wait_until(lambda: readiness(served.url)[0] == 503), readiness(served.url)
        body = readiness(served.url)[1]
        assert body["status"] == "not_ready"
        assert [name for name, check in body["checks"].items() if not check["ok"]] == [failing]
        assert "127.0.0.1" not in json.dumps(body), "an address in the readiness answer"
        assert get(f"{served.url}/health/live")[0] == 200, "not ready is not dead"

        status, headers, answer = post_message(served.url, "你好")
        assert status == 503 and headers.get("retry-after") == "5"
        assert json.loads(answer)["failing"] == [failing]
        assert agent.handled == [], "a message reached Rasa while its store was unreachable"

        relays[cut].restore()
        assert wait_until(lambda: readiness(served.url)[0] == 200, timeout=20), readiness(served.url)
        assert post_message(served.url, "你好")[0] == 200 and agent.handled == ["你好"]


def test_a_lost_action_server_makes_a_server_not_ready_but_messages_still_go_in(database, relays):
    dead = f"http://127.0.0.1:{free_port()}/webhook"
    agent = StubAgent(*real_stores(relays), dead)
    with Served(rasa_app(agent)) as served:
        assert wait_until(lambda: readiness(served.url)[1].get("status") == "not_ready")
        checks = readiness(served.url)[1]["checks"]
        assert not checks["action_server"]["ok"] and checks["lock_store"]["ok"]
        # the busy answer covers a lost action server (xiaoan/runtime/busy.py): not refused here
        assert post_message(served.url, "你好")[0] == 200 and agent.handled == ["你好"]


def test_before_the_model_is_loaded_the_server_says_starting():
    with Served(rasa_app(None)) as served:
        status, body = readiness(served.url)
        assert status == 503 and body["status"] in ("starting", "not_ready")
        assert wait_until(lambda: readiness(served.url)[1].get("status") == "not_ready")
        assert not readiness(served.url)[1]["checks"]["model"]["ok"]
        assert post_message(served.url, "你好")[0] == 503


def test_the_token_can_come_from_a_file_and_metrics_without_a_token_are_loopback_only(tmp_path, monkeypatch):
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    monkeypatch.setenv(operations.TOKEN_FILE_ENV, str(token_file))
    with Served(rasa_app(None, token=None)) as served:
        assert get(f"{served.url}/status")[0] == 401  # Rasa's API took the file's token
        assert get(f"{served.url}/metrics")[0] == 401
        assert get(f"{served.url}/metrics", {"Authorization": "Bearer from-a-file"})[0] == 200
    monkeypatch.delenv(operations.TOKEN_FILE_ENV)
    with Served(rasa_app(None, token=None)) as served:
        assert get(f"{served.url}/metrics")[0] == 200  # loopback, no token configured
        assert get(f"{served.url}/metrics", {"X-Forwarded-For": "203.0.113.9"})[0] == 403  # came through a proxy


def test_the_action_server_gets_health_metrics_and_timing_through_rasa_sdks_plugin_hook():
    from rasa_sdk.endpoint import create_app
    from rasa_sdk.plugin import plugin_manager

    operations.install_action_server()
    app = create_app("actions")
    plugin_manager().hook.attach_sanic_app_extensions(app=app)  # what rasa_sdk.endpoint.run does
    before = metrics.ACTION_SERVER_REQUESTS.labels("action_fraud_warning", "ok")._value.get()
    unknown_before = metrics.ACTION_SERVER_REQUESTS.labels(metrics.UNKNOWN, "not_found")._value.get()
    with Served(app) as served:
        assert get(f"{served.url}/health/live")[0] == 200
        assert wait_until(lambda: readiness(served.url)[0] == 200), readiness(served.url)
        assert list(readiness(served.url)[1]["checks"]) == ["back_office"]
        call = {"next_action": "action_fraud_warning", "sender_id": "ops-test", "version": "3.6.2", "domain": {},
                "tracker": {"sender_id": "ops-test", "slots": {}, "latest_message": {"text": "", "intent": {}},
                            "events": [], "paused": False, "followup_action": None, "active_loop": {},
                            "latest_action_name": "action_listen"}}
        from_rasa = {"Content-Type": "application/json", action_key.HEADER: action_key.shared_key()}
        status, _, _ = get(f"{served.url}/webhook", from_rasa, json.dumps(call).encode())
        assert status == 200
        call["next_action"] = "action_that_is_not_there"
        status, _, _ = get(f"{served.url}/webhook", from_rasa, json.dumps(call).encode())
        assert status == 404
        page = get(f"{served.url}/metrics")[2].decode()  # loopback, no token file: allowed
    assert metrics.ACTION_SERVER_REQUESTS.labels("action_fraud_warning", "ok")._value.get() == before + 1
    assert metrics.ACTION_SERVER_REQUESTS.labels(metrics.UNKNOWN, "not_found")._value.get() == unknown_before + 1
    assert 'xiaoan_action_server_seconds_count{action="action_fraud_warning"}' in page
    assert "action_that_is_not_there" not in page, "a client-chosen name became a label"


def test_the_action_server_refuses_a_call_that_is_not_from_a_rasa_server(tmp_path, monkeypatch):
    """Attack: a forged action call (any local process, a page doing DNS rebinding) with a made-up verified
    tracker must run nothing: no key or a wrong key is 401; the Rasa server's own calls carry the key."""
    from rasa_sdk.endpoint import create_app
    from rasa_sdk.plugin import plugin_manager

    monkeypatch.setenv(action_key.FILE_ENV, str(tmp_path / "action_key"))
    action_key.shared_key.cache_clear()
    try:
        operations.install_action_server()
        app = create_app("actions")
        plugin_manager().hook.attach_sanic_app_extensions(app=app)
        forged = forged_action_call()
        body = json.dumps(forged).encode()
        with Served(app) as served:
            for headers in ({}, {action_key.HEADER: "guess"}, {action_key.HEADER: ""}):
                status, _, answer = get(f"{served.url}/webhook", {"Content-Type": "application/json", **headers}, body)
                assert status == 401 and b"3500" not in answer
            status, _, answer = get(f"{served.url}/webhook", {"Content-Type": "application/json",
                                                               action_key.HEADER: action_key.shared_key()}, body)
            assert status == 200
        assert (tmp_path / "action_key").stat().st_mode & 0o777 == 0o600
    finally:
        action_key.shared_key.cache_clear()


def test_the_rasa_server_sends_the_action_key_and_both_sides_share_one(tmp_path, monkeypatch):
    from rasa.utils.endpoints import EndpointConfig

    monkeypatch.setenv(action_key.FILE_ENV, str(tmp_path / "action_key"))
    action_key.shared_key.cache_clear()
    try:
        endpoint = EndpointConfig("http://127.0.0.1:5055/webhook", headers={"X-Other": "kept"})
        action_key.carry_key(endpoint)  # what XiaoanProcessor.__init__ does with Rasa's action endpoint
        assert endpoint.headers == {"X-Other": "kept", action_key.HEADER: action_key.shared_key()}
        assert (tmp_path / "action_key").read_text().strip() == action_key.shared_key()  # the file both sides read
        action_key.carry_key(None)  # no action server configured: nothing to do
    finally:
        action_key.shared_key.cache_clear()


def test_slowness_is_not_an_error_a_busy_server_keeps_serving():
    """A check that answers late (a busy server notices late) fails only after two silent rounds,
    and never makes the server refuse messages; an error fails it at once, and does."""
    from xiaoan.runtime.health import Readiness

    async def slow() -> None:
        await asyncio.sleep(0.3)

    async def broken() -> None:
        raise ConnectionRefusedError("127.0.0.1:6379")

    async def scenario() -> List[Tuple[bool, bool, str]]:
        readiness = Readiness({"lock_store": slow}, timeout=0.1)
        seen = []
        for _ in range(2):
            await readiness.check_once()
            seen.append((readiness.ready, readiness.refuses_messages(), readiness.results["lock_store"].detail))
            await asyncio.sleep(0.25)  # the first check finishes in between: a new one starts next round
        readiness.checks["lock_store"] = broken
        await asyncio.sleep(0.3)
        await readiness.check_once()
        seen.append((readiness.ready, readiness.refuses_messages(), readiness.results["lock_store"].detail))
        return seen

    first, second, third = asyncio.run(scenario())
    assert first == (True, False, "slow answer")
    assert second[0] is False and second[1] is False and "no answer" in second[2]
    assert third == (False, True, "ConnectionRefusedError")


def test_a_server_with_a_local_identity_answers_its_own_machine_only():
    """Attack: `make interactive ID=C0001` runs Rasa on 0.0.0.0 (hard-coded by Rasa) with that identity for its
    shell; a neighbour on the network must get nothing from it."""
    from types import SimpleNamespace

    def request(peer: str) -> SimpleNamespace:
        return SimpleNamespace(conn_info=SimpleNamespace(client_ip=peer))

    refused = asyncio.run(operations.loopback_only(request("192.0.2.7")))
    assert refused is not None and refused.status == 403
    assert asyncio.run(operations.loopback_only(request("127.0.0.1"))) is None
    assert asyncio.run(operations.loopback_only(request("::1"))) is None
    assert asyncio.run(operations.loopback_only(SimpleNamespace(conn_info=None))).status == 403
