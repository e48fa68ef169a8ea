"""The longest answers on a phone-sized chat page (issue 20), in a real browser against `make run`'s servers.

A problem told with a full card number gets both the privacy warning and the problem's own flow; the
answers come as bubbles whose steps stand one per line (the page renders Markdown: a single line break
used to vanish), none taller than the phone's screen. Screenshots go to screenshots/phone-*.png; the
README shows copies (docs/img/).
"""
from __future__ import annotations

import re

import pytest

from tests.clients import identity_token
from tests.live.test_webchat import (  # noqa: F401 - `browser` is a fixture
    BOT, BOT_TIMEOUT_MS, BROWSER_ZONE, PHONE, SCREENSHOTS, _page_url, _reachable, _say, _settle, browser,
)
from tests.live.test_webchat import RASA_URL, WEB_URL
from xiaoan import content

pytestmark = pytest.mark.live


def _show_from(page, first: int) -> None:
    """Scrolls the conversation so the answer's first bubble is at the top (the screenshot shows its start)."""
    page.locator(BOT).nth(first).evaluate("element => element.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)


def _bubble_heights(page, first: int) -> list:
    return [box["height"] for box in (page.locator(BOT).nth(i).bounding_box() for i in range(first, page.locator(BOT).count()))
            if box]


def test_the_longest_answers_read_line_by_line_on_a_phone(browser) -> None:
    _reachable(f"{WEB_URL}/")
    _reachable(f"{RASA_URL}/")
    SCREENSHOTS.mkdir(exist_ok=True)
    phone = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                locale="zh-CN", timezone_id=BROWSER_ZONE)
    page = phone.new_page()
    page.goto(_page_url(identity_token("C0001")), wait_until="load")  # the cardholder, signed in
    page.locator(BOT).first.wait_for(timeout=BOT_TIMEOUT_MS)
    _settle(page, 1500)

    # 1. a problem pasted with the whole card number: the warning AND the charged-but-failed flow
    before = page.locator(BOT).count()
    answer = _say(page, "我的卡号是6222021234567890128，刷卡显示失败但钱扣了")
    joined = "\n".join(answer)
    assert content.render("utter_secret_card_number") in joined and "请不要在对话里发送" in joined, answer
    assert "冲正" in joined and "参考号" in joined, answer  # utter_charged_but_failed_intro, then the form asks
    assert "622202123456" not in joined  # the bot never echoes it (the user's own bubble shows what they typed)
    # its steps stand on their own lines (inner text breaks at the <br> of each hard break)
    assert re.search(r"(^|\n)1\. 保留小票", joined), answer
    assert all(height <= PHONE["height"] - 120 for height in _bubble_heights(page, before))
    _settle(page)
    _show_from(page, before)
    page.screenshot(path=str(SCREENSHOTS / "phone-card-number-and-problem.png"))

    # 2. the duplicate debit, the longest answer: the answer bubble first, then the steps, one per line
    before = page.locator(BOT).count()
    answer = _say(page, "参考号202611250007")
    joined = "\n".join(answer)
    assert "扣了两次" in answer[0], answer
    assert re.search(r"(^|\n)1\. .*商户", joined) and re.search(r"\n2\. 商户不配合", joined), answer
    assert all(height <= PHONE["height"] - 120 for height in _bubble_heights(page, before))
    _settle(page)
    _show_from(page, before)
    page.screenshot(path=str(SCREENSHOTS / "phone-duplicate-debit.png"), full_page=False)

    # 3. a scam of a new family: the warning's lines of advice, then what to do now in its own bubble
    before = page.locator(BOT).count()
    answer = _say(page, "QQ上有人说是我们老板，让我马上往一个账户转五万")
    joined = "\n".join(answer)
    assert content.render("utter_fraud_advice_boss_request") in joined, answer
    assert any(text.startswith("请立即停止操作") for text in answer), answer
    assert not re.search("[\u2460-\u24ff\u2600-\u27bf\U0001F000-\U0001FAFF]", joined), "no emoji-font symbols"
    assert all(height <= PHONE["height"] - 120 for height in _bubble_heights(page, before))
    _settle(page)
    _show_from(page, before)
    page.screenshot(path=str(SCREENSHOTS / "phone-fraud-warning.png"))
    phone.close()
