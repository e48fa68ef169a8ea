"""The hand-over in a real browser: a customer on the chat page, an agent on the staff console (two contexts).

The customer reports a failure (with a full card number, which must never show) and asks for a person;
the agent signs in, finds the conversation in the queue, claims it, reads the masked transcript and
replies; the customer sees the reply marked as from a person; the agent hands back; the bot answers the
customer's next message. A supervisor opens the review and the dashboard, and sees a conversation queued
meanwhile announced in the tab's title and on the queue's button. Screenshots of the console
(queue, conversation, review, dashboard) and of the chat page go to docs/img/ for the README.

Debian's chromium (--no-sandbox), never `playwright install`; run by `make test-live` against
`make run`'s servers.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.clients import rest_say
from tests.live.test_handover import PASSWORD, RASA_URL, make_staff
from tests.live.test_webchat import (  # noqa: F401 - the browser fixtures are used by name
    BOT, BOT_TIMEOUT_MS, BROWSER_ZONE, DESKTOP, INPUT, USER, _page_url, _session_id, _settle, browser,
)
from xiaoan import clock, content

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "img"
CONSOLE_URL = (os.environ.get("CONSOLE_URL") or "http://127.0.0.1:8090").rstrip("/")
TABLET = {"width": 1024, "height": 768}
CARD = "6222021234567890123"

pytestmark = pytest.mark.live


def say(page, text: str) -> None:
    before = page.locator(USER).count()
    page.locator(INPUT).fill(text)
    page.locator(INPUT).press("Enter")
    page.wait_for_function("([s, n]) => document.querySelectorAll(s).length > n", arg=[USER, before],
                           timeout=BOT_TIMEOUT_MS)


def wait_for_bot_text(page, text: str) -> None:
    page.wait_for_function(
        "([s, t]) => Array.from(document.querySelectorAll(s)).some(e => e.innerText.includes(t))",
        arg=[BOT, text], timeout=BOT_TIMEOUT_MS)


def sign_in(page, name: str) -> None:
    page.goto(f"{CONSOLE_URL}/", wait_until="load")
    page.locator("#login-form input[name=username]").fill(name)
    page.locator("#login-form input[name=password]").fill(PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    page.locator("#bar").wait_for(state="visible", timeout=15_000)


def test_customer_and_agent_in_two_browsers(browser) -> None:  # noqa: F811
    IMAGES.mkdir(parents=True, exist_ok=True)
    agent_name, supervisor_name = make_staff("agent"), make_staff("supervisor")
    errors: list = []

    customer_context = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id=BROWSER_ZONE)
    customer = customer_context.new_page()
    customer.on("pageerror", lambda e: errors.append(str(e)))
    customer.goto(_page_url(), wait_until="load")
    customer.locator(BOT).first.wait_for(timeout=BOT_TIMEOUT_MS)
    _settle(customer, 1500)
    say(customer, f"刷卡显示失败但是钱扣了，卡号{CARD}")
    _settle(customer, 2000)

    agent_context = browser.new_context(viewport=TABLET, locale="zh-CN", timezone_id=BROWSER_ZONE)
    agent = agent_context.new_page()
    agent.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(agent, agent_name)  # someone on duty before the customer asks

    say(customer, "转人工")
    wait_for_bot_text(customer, content.render("utter_handover_queued", ahead=0).split("，")[0])
    session = _session_id(customer)

    row = agent.locator("#queue-rows tr", has_text=session)
    row.wait_for(timeout=15_000)
    assert "用户要求转人工" in row.inner_text() and "网页" in row.inner_text()
    agent.screenshot(path=str(IMAGES / "console_queue.png"), full_page=True)
    row.locator("button").click()

    agent.locator("#transcript li").first.wait_for(timeout=15_000)
    agent.wait_for_function("() => document.querySelector('#transcript').innerText.includes('转人工')", timeout=15_000)
    transcript = agent.locator("#transcript").inner_text()
    assert CARD not in transcript and CARD not in agent.content()  # masked as stored, nowhere on the page
    assert "钱扣了" in transcript
    assert agent.evaluate("() => new Date().getTimezoneOffset()") == 660  # the browser really is at UTC-11
    assert clock.today().isoformat() in transcript  # times as the server wrote them, China time
    slots = agent.locator("#slots").inner_text()
    assert "true" not in slots and "false" not in slots  # people words, never raw values
    wait_for_bot_text(customer, content.render("utter_staff_joined", staff_id="").split("，")[1])

    agent.locator("#reply-form textarea").fill("您好，我是人工客服，已看到您被扣款，正在为您核实。")
    agent.locator("#reply-form button[type=submit]").click()
    staff_message = customer.locator(".rw-response.xiaoan-staff", has_text="正在为您核实")
    staff_message.wait_for(timeout=15_000)
    assert staff_message.count() == 1
    agent.wait_for_function("() => document.querySelector('#deliveries').innerText.includes('已送达')", timeout=15_000)
    agent.screenshot(path=str(IMAGES / "console_conversation.png"), full_page=True)
    customer.screenshot(path=str(IMAGES / "chat_staff_reply.png"), full_page=True)

    agent.locator("#handback-form button[type=submit]").click()
    wait_for_bot_text(customer, content.render("utter_handed_back", staff_id="").split("，")[1])
    bots_before = customer.locator(BOT).count()
    say(customer, "一般多久到账")
    customer.wait_for_function("([s, n]) => document.querySelectorAll(s).length > n", arg=[BOT, bots_before],
                               timeout=BOT_TIMEOUT_MS)
    _settle(customer, 1500)
    latest = customer.locator(BOT).last
    assert "到账" in latest.inner_text()
    assert customer.locator(".rw-response.xiaoan-staff").count() == 1  # the bot's answer is the bot's

    supervisor_context = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id=BROWSER_ZONE)
    supervisor = supervisor_context.new_page()
    supervisor.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(supervisor, supervisor_name)
    supervisor.locator("button[data-view=review]").click()
    supervisor.locator("#review-rows tr", has_text=session).wait_for(timeout=30_000)
    assert supervisor.locator("#review-form input[name=to]").input_value() == clock.today().isoformat()
    supervisor.locator("#review-rows button", has_text=session).click()
    supervisor.locator("#review-transcript li").first.wait_for(timeout=15_000)
    supervisor.screenshot(path=str(IMAGES / "console_review.png"), full_page=True)
    supervisor.locator("button[data-view=dashboard]").click()
    supervisor.locator("#dash-cards .stat").first.wait_for(timeout=30_000)
    supervisor.locator("#chart-days svg").wait_for(timeout=15_000)
    supervisor.screenshot(path=str(IMAGES / "console_dashboard.png"), full_page=True)

    # issue 23: a conversation queued while this console shows another view is announced in the tab's title
    # and on the queue's button, until the queue is looked at; the tone is off unless asked for
    base_title = supervisor.title()
    assert supervisor.locator("#sound").is_checked() is False
    sender = f"live-badge-{os.urandom(4).hex()}"
    rest_say(RASA_URL, sender, "转人工")
    supervisor.wait_for_function("(t) => document.title === '(1) ' + t", arg=base_title, timeout=30_000)
    assert supervisor.locator("#queue-badge").inner_text() == "1"
    supervisor.locator("button[data-view=queue]").click()
    supervisor.locator("#queue-rows tr", has_text=sender).wait_for(timeout=15_000)
    supervisor.wait_for_function("(t) => document.title === t", arg=base_title, timeout=15_000)
    assert supervisor.locator("#queue-badge").is_hidden()
    assert errors == []
    for context in (customer_context, agent_context, supervisor_context):
        context.close()


@pytest.fixture(autouse=True)
def _console_reachable():
    import urllib.request

    try:
        urllib.request.urlopen(f"{CONSOLE_URL}/health/live", timeout=10).close()
    except OSError as error:
        pytest.fail(f"cannot reach the staff console at {CONSOLE_URL}: {error}")
