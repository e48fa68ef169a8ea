"""The web chat page in a real browser (its server alone, in-process: tests/test_web_page.py).

The browser test (Debian's chromium, driven by Playwright) is a `live` test like
the others here: run only when asked, ``XIAOAN_LIVE_TESTS=1`` or ``pytest --live``
(`make test-live` sets it and starts the servers). It starts nothing: the
Rasa server (socket.io channel), the action server and the page server
(web/serve.py) must already run, at RASA_URL (http://127.0.0.1:5005) and
WEB_URL (http://127.0.0.1:8080). Once asked, a
server that cannot be reached is a failure, not a skip.

Needs ``apt-get install chromium fonts-noto-cjk`` and the pinned ``playwright``
Python package; never ``playwright install`` (it downloads a browser).
Screenshots go to screenshots/ (git-ignored).
"""
from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, List
from urllib.parse import urlencode, urlsplit

import pytest

from tests.clients import identity_token

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
RASA_URL = (os.environ.get("RASA_URL") or "http://127.0.0.1:5005").rstrip("/")
WEB_URL = (os.environ.get("WEB_URL") or "http://127.0.0.1:8080").rstrip("/")
CHROMIUM = os.environ.get("XIAOAN_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TERMINAL_ID = "10000002"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Not China: UTC-11 is a day behind China 19 hours in 24, so a page that took its dates from the
# browser's clock would miss today's conversations most of the day (the console once did, 00:00-08:00).
BROWSER_ZONE = "Pacific/Pago_Pago"
BOT_TIMEOUT_MS = 60_000  # a cold model can take a while on its first message

BOT = ".rw-response .rw-message-text"  # not the typing indicator
USER = ".rw-client .rw-message-text"
MESSAGE = ".rw-message-text"
REPLY_BUTTON = ".rw-replies .rw-reply"
INPUT = ".rw-new-message"

pytestmark = pytest.mark.live


def _reachable(url: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200, f"{url} answered {response.status}"
    except (urllib.error.URLError, OSError) as error:
        pytest.fail(f"cannot reach {url}: {error}. Start the servers first (make run).")


@pytest.fixture
def browser() -> Iterator["object"]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the `playwright` Python package is missing: pip install -r requirements.txt")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no browser at {CHROMIUM}: apt-get install -y chromium fonts-noto-cjk")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _page_url(identity: str = "") -> str:
    """The page as a merchant portal opens it: its terminal, and (`identity`) its signed-in merchant's token."""
    fragment = f"#identity={identity}" if identity else ""
    return f"{WEB_URL}/?" + urlencode({"terminal_id": TERMINAL_ID, "rasa": RASA_URL}) + fragment


def _texts(page, selector: str) -> List[str]:
    return [text.strip() for text in page.locator(selector).all_inner_texts()]


def _wait_for_count(page, selector: str, more_than: int) -> None:
    page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length > n",
        arg=[selector, more_than],
        timeout=BOT_TIMEOUT_MS,
    )


def _say(page, text: str) -> List[str]:
    """Types a message, sends it with Enter, returns the bot's new messages."""
    bot_before = page.locator(BOT).count()
    user_before = page.locator(USER).count()
    field = page.locator(INPUT)
    field.fill(text)
    field.press("Enter")
    _wait_for_count(page, USER, user_before)
    assert _texts(page, USER)[-1] == text
    _wait_for_count(page, BOT, bot_before)
    _settle(page, 1500)  # let the rest of a multi-message answer arrive
    return _texts(page, BOT)[bot_before:]


def _settle(page, quiet_ms: int = 2500) -> None:
    """Waits until no message has arrived for quiet_ms and nobody is typing."""
    page.wait_for_function(
        """([selector, quiet]) => {
            const n = document.querySelectorAll(selector).length;
            const typing = document.querySelector('.rw-typing-indication');
            const now = Date.now();
            if (window.__xiaoanCount !== n || typing) {
                window.__xiaoanCount = n;
                window.__xiaoanSince = now;
            }
            return now - window.__xiaoanSince >= quiet;
        }""",
        arg=[MESSAGE, quiet_ms],
        polling=250,
        timeout=BOT_TIMEOUT_MS,
    )


def _session_id(page) -> str:
    return page.evaluate("JSON.parse(sessionStorage.getItem('chat_session') || '{}').session_id")


def _user_events(session_id: str) -> List[dict]:
    """The conversation as Rasa recorded it (HTTP API: `rasa run --enable-api`)."""
    url = f"{RASA_URL}/conversations/{session_id}/tracker"
    if os.environ.get("RASA_AUTH_TOKEN"):
        url += "?" + urlencode({"token": os.environ["RASA_AUTH_TOKEN"]})
    with urllib.request.urlopen(url, timeout=10) as response:
        tracker = json.load(response)
    return [event for event in tracker["events"] if event.get("event") == "user"]


def _same_host(url: str, other: str) -> bool:
    return urlsplit(url).netloc == urlsplit(other).netloc


def test_chat_page_talks_to_xiaoan(browser) -> None:
    _reachable(f"{WEB_URL}/")
    _reachable(f"{RASA_URL}/")
    SCREENSHOTS.mkdir(exist_ok=True)

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id=BROWSER_ZONE)
    page = context.new_page()
    outside: List[str] = []
    errors: List[str] = []
    page.on(
        "request",
        lambda r: None
        if r.url.startswith("data:") or _same_host(r.url, WEB_URL) or _same_host(r.url, RASA_URL)
        else outside.append(r.url),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))

    # 1. the page opens and 小安 greets (initPayload /greet)
    page.goto(_page_url(identity_token("M0001")), wait_until="load")  # signed in as the terminal's merchant
    assert page.title() == "小安 · POS转账助手"
    assert "identity=" not in page.url, "the page takes the token out of the address bar"
    page.locator(BOT).first.wait_for(timeout=BOT_TIMEOUT_MS)
    _settle(page, 1500)
    greeting = " ".join(_texts(page, BOT))
    assert "小安" in greeting, greeting
    assert page.locator("#status").get_attribute("data-state") == "online"
    assert page.locator("#offline").is_hidden()
    assert _texts(page, USER) == [], "the /greet payload must not show as a user message"

    # 2. quick replies: "刷卡没成功" is answered with buttons; click one. (First, while
    # no form is asking anything: rasa-webchat shows quick replies on the last
    # message only, so a question that follows them hides them.)
    _say(page, "刷卡没成功")
    buttons = page.locator(REPLY_BUTTON)
    choice = buttons.filter(has_text="通讯失败/连不上网")
    choice.first.wait_for(timeout=BOT_TIMEOUT_MS)
    titles = [title.strip() for title in buttons.all_inner_texts()]
    assert len(titles) >= 2, titles
    bot_before = page.locator(BOT).count()
    user_before = page.locator(USER).count()
    choice.first.click()
    _wait_for_count(page, USER, user_before)
    assert _texts(page, USER)[-1] == "通讯失败/连不上网"
    _wait_for_count(page, BOT, bot_before)
    _settle(page, 1500)
    after_click = " ".join(_texts(page, BOT)[bot_before:])
    assert re.search(r"通讯|网络|信号|终端", after_click), after_click
    assert page.locator(REPLY_BUTTON).filter(has_text="通讯失败/连不上网").count() == 0

    # 3. a failure report typed in gets an answer about the network
    answer = " ".join(_say(page, "POS机一直提示通讯失败"))
    assert re.search(r"通讯|网络|信号|终端", answer), answer

    # 4. Rasa got the page's customData as message metadata, on the socketio channel
    session_id = _session_id(page)
    assert session_id, "rasa-webchat keeps its session in sessionStorage['chat_session']"
    said = _user_events(session_id)
    texts = [e["text"] for e in said]
    assert texts[:2] == ["/greet", "刷卡没成功"] and "POS机一直提示通讯失败" in texts, said
    for event in said:
        assert event["input_channel"] == "socketio", event
        assert event["metadata"]["language"] == "zh", event
        assert event["metadata"]["terminal_id"] == TERMINAL_ID, event
        # verified by the ingress as the merchant; the token itself is not stored
        assert event["metadata"]["xiaoan"]["identity"]["subject"] == "M0001", event
        assert "identity" not in event["metadata"], event

    _settle(page)
    page.screenshot(path=str(SCREENSHOTS / "webchat-desktop.png"))
    transcript = _texts(page, MESSAGE)

    # 5. a reload keeps the conversation (params.storage: "session", this tab only) and greets no one twice
    page.reload(wait_until="load")
    page.locator(BOT).first.wait_for(timeout=BOT_TIMEOUT_MS)
    page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length >= n",
        arg=[MESSAGE, len(transcript)],
        timeout=BOT_TIMEOUT_MS,
    )
    _settle(page)
    assert _texts(page, MESSAGE) == transcript
    assert _session_id(page) == session_id
    page.wait_for_function(
        "() => document.querySelector('#status').dataset.state === 'online'", timeout=BOT_TIMEOUT_MS
    )
    # the reloaded page is still connected to the same conversation
    assert _say(page, "谢谢"), "no answer after the reload"

    # 5b. a shared shop computer: the next person's new tab starts empty, nothing of this conversation shows
    other_tab = context.new_page()
    other_tab.goto(_page_url(), wait_until="load")
    other_tab.locator(BOT).first.wait_for(timeout=BOT_TIMEOUT_MS)
    _settle(other_tab)
    assert _session_id(other_tab) != session_id
    assert not set(_texts(other_tab, MESSAGE)) & {t for t in transcript if "终端" in t or "谢谢" in t}
    other_tab.close()

    # 6. the same conversation on a phone-sized screen (this tab's session carried over, as a phone's own tab)
    stored = page.evaluate("() => window.sessionStorage.getItem('chat_session')")
    phone = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id=BROWSER_ZONE,
        storage_state=context.storage_state(),
    )
    phone.add_init_script(f"window.sessionStorage.setItem('chat_session', {json.dumps(stored)});")
    small = phone.new_page()
    small.on("pageerror", lambda e: errors.append(str(e)))
    small.goto(_page_url(), wait_until="load")
    small.locator(BOT).first.wait_for(timeout=BOT_TIMEOUT_MS)
    _settle(small)
    assert small.locator(MESSAGE).count() >= len(transcript)
    assert small.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], (
        "the page scrolls sideways on a phone"
    )
    field = small.locator(INPUT).bounding_box()
    assert field is not None and field["y"] + field["height"] <= PHONE["height"], field
    assert field["width"] >= 200, field
    small.screenshot(path=str(SCREENSHOTS / "webchat-phone.png"))
    phone.close()
    context.close()

    assert not errors, errors
    assert not outside, f"the page fetched from outside: {outside}"
