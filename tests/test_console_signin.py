"""Console sign-in, attacked the way it is attacked (issue 19): parallel guesses, sign-in spraying from one
address, a forged X-Forwarded-For, a cross-site text/plain post, a cookie sent over plain HTTP.

Every attack runs against the real aiohttp app (tests/test_console.py's `run`), or the store from many
threads, on SQLite; the parallel-guess test also on PostgreSQL when 127.0.0.1:5432 (db `test`) answers.
Hashes here are cheap (tests/test_console.py: `cheap_hashes`, autouse): the cost itself is tests/test_passwords.py's.
"""
from __future__ import annotations

import asyncio
import os
import threading
import uuid
from typing import List

import pytest
from aiohttp.test_utils import TestClient, TestServer

from console.delivery import RasaLink
from console.server import COOKIE, Console
from tests.test_console import PASSWORD, cheap_hashes, run, stores  # noqa: F401 - the fixtures these tests use
from xiaoan.handover import staff as staff_module
from xiaoan.handover.staff import LOCK_AFTER_FAILURES
from xiaoan.handover.store import HandoverStore

PARALLEL_GUESSES = 12
POSTGRES_URL = os.environ.get("XIAOAN_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


def login(client: TestClient, username: str, password: str, **headers: str):
    return client.post("/api/login", json={"username": username, "password": password}, headers=headers or None)


# ---------------------------------------------------------------- the lock-out counts every guess


@run
async def test_parallel_wrong_guesses_each_count(client, store, route):
    answers = await asyncio.gather(*(login(client, "li", f"guess-{i}") for i in range(PARALLEL_GUESSES)))
    statuses = sorted(answer.status for answer in answers)
    # only the first LOCK_AFTER_FAILURES guesses are tried at all; the one that reaches the limit locks
    assert statuses == [401] * (LOCK_AFTER_FAILURES - 1) + [429] * (PARALLEL_GUESSES - LOCK_AFTER_FAILURES + 1)
    # locked: the right password does not open it
    assert (await login(client, "li", PASSWORD)).status == 429


def guess_from_threads(store: HandoverStore, username: str, count: int) -> List[str]:
    outcomes: List[str] = []
    start = threading.Barrier(count)

    def guess(i: int) -> None:
        start.wait()
        outcomes.append(store.sign_in(username, f"wrong-{i}")[0])

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_parallel_wrong_guesses_from_threads_each_count_sqlite(stores):  # noqa: F811
    store, _ = stores
    outcomes = guess_from_threads(store, "li", PARALLEL_GUESSES)
    assert outcomes.count("wrong") == LOCK_AFTER_FAILURES - 1, outcomes
    assert store.sign_in("li", PASSWORD)[0] == "locked"


def test_parallel_wrong_guesses_from_threads_each_count_postgresql():
    pytest.importorskip("psycopg2")
    store = HandoverStore(POSTGRES_URL)
    try:
        store.engine
    except Exception as problem:  # noqa: BLE001 - no PostgreSQL here: nothing to test against
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL}: {problem}")
    name = f"pg-{uuid.uuid4().hex[:8]}"
    try:
        store.create_staff(name, "agent", PASSWORD)
        outcomes = guess_from_threads(store, name, PARALLEL_GUESSES)
        assert outcomes.count("wrong") == LOCK_AFTER_FAILURES - 1, outcomes
        assert store.sign_in(name, PASSWORD)[0] == "locked"
    finally:
        with store.engine.begin() as conn:
            for table in ("ho_login_failures", "ho_login_addresses"):
                if store.engine.dialect.has_table(conn, table):
                    key = "username" if table == "ho_login_failures" else "address"
                    conn.exec_driver_sql(f"DELETE FROM {table} WHERE {key} LIKE 'pg-%%' OR {key} = 'unknown'")
            conn.exec_driver_sql("DELETE FROM ho_staff WHERE username = %(name)s", {"name": name})
        store.dispose()


# ---------------------------------------------------------------- one address, many names


@run
async def test_spraying_many_names_from_one_address_is_throttled(client, store, route):
    limit = staff_module.ADDRESS_LOCK_AFTER
    statuses = [(await login(client, f"name-{i}", "Spring2026!")).status for i in range(limit + 5)]
    assert 429 in statuses
    first = statuses.index(429)
    assert first == limit - 1 and set(statuses[:first]) == {401} and set(statuses[first:]) == {429}
    throttled = await login(client, "li", PASSWORD)  # even a right password, from that address
    assert throttled.status == 429 and int(throttled.headers["Retry-After"]) > 0
    assert (await throttled.json())["error"] == "throttled"


@run
async def test_a_forged_forwarded_for_does_not_escape_the_throttle(client, store, route):
    limit = staff_module.ADDRESS_LOCK_AFTER
    statuses = [(await login(client, f"name-{i}", "Spring2026!", **{"X-Forwarded-For": f"198.51.100.{i}"})).status
                for i in range(limit + 2)]
    assert statuses[-1] == 429  # the TCP peer is the address: no proxy is trusted unless configured


def test_a_configured_proxy_names_the_address(stores, monkeypatch):  # noqa: F811
    """CONSOLE_TRUSTED_PROXY=127.0.0.1: X-Forwarded-For from that proxy names the client; one sprayer is
    throttled, a colleague behind the same proxy still signs in."""
    monkeypatch.setenv("CONSOLE_TRUSTED_PROXY", "127.0.0.1")
    store, transcripts = stores

    async def go():
        client = TestClient(TestServer(Console(store, transcripts, RasaLink("http://127.0.0.1:9", None)).app()))
        await client.start_server()
        try:
            sprayer = {"X-Forwarded-For": "203.0.113.5"}
            statuses = [(await login(client, f"name-{i}", "Spring2026!", **sprayer)).status
                        for i in range(staff_module.ADDRESS_LOCK_AFTER + 1)]
            assert statuses[-1] == 429
            # the client is the rightmost address that is not a trusted proxy; what it wrote before is ignored
            colleague = {"X-Forwarded-For": "203.0.113.5, 203.0.113.9, 127.0.0.1"}
            assert (await login(client, "li", PASSWORD, **colleague)).status == 200
            assert (await login(client, "li", PASSWORD, **sprayer)).status == 429
        finally:
            await client.close()

    asyncio.run(go())


# ---------------------------------------------------------------- weak passwords


WEAK = ["12345678", "password123", "password1234", "Password@2026", "123456789012", "qwertyuiop123",
        "1qaz2wsx3edc", "aaaaaaaaaaaaaa", "abcabcabcabc", "xiaoan123456", "Xiaoan@2026!", "小安客服123456789",
        "iloveyou1314", "woaini1314520", "short-1"]


@pytest.mark.parametrize("weak", WEAK)
def test_a_weak_password_is_refused(stores, weak):  # noqa: F811
    store, _ = stores
    with pytest.raises(ValueError, match="password"):
        store.create_staff("newcomer", "agent", weak)


def test_the_user_name_is_no_password(stores):  # noqa: F811
    store, _ = stores
    for password in ("zhangsanfeng", "zhangsanfeng2026", "ZhangSanFeng!!!"):
        with pytest.raises(ValueError, match="user name"):
            store.create_staff("zhangsanfeng", "agent", password)


@pytest.mark.parametrize("good", [PASSWORD, "live-test-0123456789ab", "scale-test-password", "渡口的灯笼在风里摇晃了很久",
                                  "8#2kd9!x0@Lm"])
def test_good_passwords_are_taken(stores, good):  # noqa: F811
    store, _ = stores
    assert store.create_staff("newcomer", "agent", good).username == "newcomer"


def test_make_staff_user_says_why_a_password_is_refused(tmp_path, monkeypatch, capsys):
    from console import users

    monkeypatch.setenv("XIAOAN_HANDOVER_URL", f"sqlite:///{tmp_path}/staff.db")
    monkeypatch.setenv("STAFF_PASSWORD", "12345678")
    assert users.main(["--name", "li", "--role", "agent"]) == 2
    said = capsys.readouterr().err
    assert "Not created" in said and "12" in said  # the rule it broke, e.g. at least 12 characters
    monkeypatch.setenv("STAFF_PASSWORD", "password1234567")
    assert users.main(["--name", "li", "--role", "agent"]) == 2
    assert "common" in capsys.readouterr().err


# ---------------------------------------------------------------- JSON only


@run
async def test_a_cross_site_text_plain_login_is_refused(client, store, route):
    body = '{"username": "li", "password": "%s"}' % PASSWORD
    for content_type in ("text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x"):
        answer = await client.post("/api/login", data=body, headers={"Content-Type": content_type})
        assert answer.status == 415, content_type
        assert COOKIE not in answer.cookies
    answer = await client.post("/api/login", data=body.encode(), headers={"Content-Type": "application/json; charset=utf-8"})
    assert answer.status == 200


# ---------------------------------------------------------------- the cookie


def cookie_after_sign_in(stores, monkeypatch, host, forced=None):  # noqa: F811
    if host is None:
        monkeypatch.delenv("CONSOLE_HOST", raising=False)
    else:
        monkeypatch.setenv("CONSOLE_HOST", host)
    if forced is None:
        monkeypatch.delenv("CONSOLE_SECURE_COOKIE", raising=False)
    else:
        monkeypatch.setenv("CONSOLE_SECURE_COOKIE", forced)
    store, transcripts = stores

    async def go():
        client = TestClient(TestServer(Console(store, transcripts, RasaLink("http://127.0.0.1:9", None)).app()))
        await client.start_server()
        try:
            answer = await login(client, "li", PASSWORD)
            assert answer.status == 200
            return answer.cookies[COOKIE]
        finally:
            await client.close()

    return asyncio.run(go())


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "console.example.cn", "::"])
def test_the_cookie_is_secure_off_loopback(stores, monkeypatch, host):  # noqa: F811
    cookie = cookie_after_sign_in(stores, monkeypatch, host)
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Strict"


@pytest.mark.parametrize("host", [None, "127.0.0.1", "localhost", "::1"])
def test_the_cookie_on_loopback_is_secure_only_when_asked(stores, monkeypatch, host):  # noqa: F811
    assert not cookie_after_sign_in(stores, monkeypatch, host)["secure"]
    assert cookie_after_sign_in(stores, monkeypatch, host, forced="1")["secure"]


# ---------------------------------------------------------------- the rules around them


def test_lock_and_throttle_end_and_a_colleague_elsewhere_is_not_throttled(stores):  # noqa: F811
    store, _ = stores
    for i in range(staff_module.ADDRESS_LOCK_AFTER):
        store.sign_in(f"name-{i}", "Spring2026!", address="203.0.113.5", now=1000.0)
    assert store.sign_in("li", PASSWORD, address="203.0.113.5", now=1001.0)[0] == "throttled"
    assert store.sign_in("li", PASSWORD, address="203.0.113.6", now=1001.0)[0] == "ok"
    later = 1000.0 + staff_module.ADDRESS_LOCK_S + 1
    assert store.sign_in("li", PASSWORD, address="203.0.113.5", now=later)[0] == "ok"
    for _ in range(LOCK_AFTER_FAILURES):
        store.sign_in("wang", "wrong guess", address="198.51.100.1", now=5000.0)
    assert store.sign_in("wang", PASSWORD, address="198.51.100.2", now=5001.0)[0] == "locked"
    assert store.sign_in("wang", PASSWORD, address="198.51.100.2", now=5000.0 + staff_module.LOCK_S + 1)[0] == "ok"


def test_a_busy_office_behind_one_address_still_signs_in(stores):  # noqa: F811
    """Right passwords give their address's attempt back: only failures throttle it."""
    store, _ = stores
    outcomes = [store.sign_in(name, PASSWORD, address="192.0.2.1")[0]
                for _ in range(staff_module.ADDRESS_LOCK_AFTER) for name in ("li", "wang", "zhao")]
    assert set(outcomes) == {"ok"}


@pytest.mark.parametrize("peer, forwarded, proxies, counted", [
    ("203.0.113.5", None, "", "203.0.113.5"),
    ("203.0.113.5", "198.51.100.1", "", "203.0.113.5"),  # no proxy configured: the header is anyone's
    ("203.0.113.5", "198.51.100.1", "127.0.0.1", "203.0.113.5"),  # not from the proxy: ignored
    ("127.0.0.1", "198.51.100.1", "127.0.0.1", "198.51.100.1"),
    ("127.0.0.1", "6.6.6.6, 198.51.100.1", "127.0.0.1", "198.51.100.1"),  # what the client wrote is ignored
    ("127.0.0.1", "198.51.100.1, 10.0.0.2", "127.0.0.1,10.0.0.2", "198.51.100.1"),  # two proxies
    ("127.0.0.1", "not-an-address", "127.0.0.1", "127.0.0.1"),
    ("::ffff:203.0.113.5", None, "", "203.0.113.5"),
    ("2001:db8:1:2:aaaa::1", None, "", "2001:db8:1:2::/64"),  # an IPv6 host has a whole /64
    (None, None, "", "unknown"),
])
def test_the_counted_address(monkeypatch, peer, forwarded, proxies, counted):
    from console.server import client_address, trusted_proxies

    monkeypatch.setenv("CONSOLE_TRUSTED_PROXY", proxies)
    assert client_address(peer, forwarded, trusted_proxies()) == counted


def test_the_cookie_off_loopback_drops_secure_only_when_told(stores, monkeypatch):  # noqa: F811
    assert not cookie_after_sign_in(stores, monkeypatch, "0.0.0.0", forced="0")["secure"]


@run
async def test_hashing_keeps_off_the_event_loop(client, store, route):
    """A sign-in's scrypt runs in a thread: the console answers others meanwhile."""
    import time

    from xiaoan.handover import passwords

    real = passwords.verify_password

    def slow(password: str, stored: str) -> bool:
        time.sleep(1.0)
        return real(password, stored)

    passwords.verify_password = slow
    try:
        signing_in = asyncio.ensure_future(login(client, "li", PASSWORD))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        assert (await client.get("/health/live")).status == 200
        assert time.monotonic() - started < 0.6 and not signing_in.done()
        assert (await signing_in).status == 200
    finally:
        passwords.verify_password = real
