"""The real Rasa server, end to end, on the REST and WeChat channels.

Runs with the browser test (``python -m ops.local -- …`` starts Rasa with
``WECHAT_TOKEN`` set); skipped otherwise by the same switch.
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from xml.etree import ElementTree

import pytest
from wechatpy.utils import WeChatSigner

from tests.clients import identity_token

RASA_URL = os.environ.get("RASA_URL", "http://127.0.0.1:5005")
TOKEN = os.environ.get("WECHAT_TOKEN", "")

pytestmark = pytest.mark.live


def rest(sender: str, message: str, identity: str | None = None) -> list[dict]:
    payload: dict = {"sender": sender, "message": message}
    if identity:
        payload["metadata"] = {"identity": identity}
    body = json.dumps(payload).encode()
    request = urllib.request.Request(f"{RASA_URL}/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wechat_post(xml: str, timestamp: int | None = None) -> tuple[int, str]:
    timestamp = timestamp or int(time.time())
    nonce = uuid.uuid4().hex[:10]
    signer = WeChatSigner()
    signer.add_data(TOKEN, str(timestamp), nonce)
    url = f"{RASA_URL}/webhooks/wechat/webhook?signature={signer.signature}&timestamp={timestamp}&nonce={nonce}"
    request = urllib.request.Request(url, xml.encode(), {"Content-Type": "text/xml"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def text_message(openid: str, content: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_xiaoan]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def test_rest_carries_a_scenario_to_its_check():
    sender, merchant = f"live-{uuid.uuid4().hex[:8]}", identity_token("M0001")  # the terminal's merchant
    first = " ".join(m.get("text", "") for m in rest(sender, "POS机一直提示通讯失败", merchant))
    assert "网络" in first and "终端号" in first
    second = " ".join(m.get("text", "") for m in rest(sender, "终端号10000002", merchant))
    assert "离线约2小时" in second and "防骗提醒" in second


def test_wechat_message_goes_through_rasa_and_back():
    assert TOKEN, "ops.local sets WECHAT_TOKEN for the live run"
    openid = f"o_live_{uuid.uuid4().hex[:8]}"
    status, body = wechat_post(text_message(openid, "钱扣了但是显示交易失败", int(time.time() * 1000) % 10**12))
    assert status == 200
    reply = ElementTree.fromstring(body)
    assert reply.findtext("ToUserName") == openid
    assert "冲正" in reply.findtext("Content") and "参考号" in reply.findtext("Content")


def test_wechat_refuses_a_bad_signature_and_a_stale_timestamp():
    xml = text_message("o_attacker", "你好", 1)
    stale = int(time.time()) - 3600
    assert wechat_post(xml, timestamp=stale)[0] == 403
    url = f"{RASA_URL}/webhooks/wechat/webhook?signature=bad&timestamp={int(time.time())}&nonce=1"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(url, xml.encode()), timeout=10)
    assert refused.value.code == 403
